// Japanese: each section a `Translation` of its English one, so a missing key fails the type check.
import type { en } from "../en";
import type { Translation } from "../types";
import { app } from "./app";
import { common } from "./common";
import { compose } from "./compose";
import { containers } from "./containers";
import { engine } from "./engine";
import { engineState } from "./engineState";
import { engines } from "./engines";
import { hub } from "./hub";
import { images } from "./images";
import { learn } from "./learn";
import { networks } from "./networks";
import { settings } from "./settings";
import { swarm } from "./swarm";
import { troubleshoot } from "./troubleshoot";
import { volumes } from "./volumes";

export const ja: { readonly [S in keyof typeof en]: Translation<(typeof en)[S]> } = {
  app, common, compose, containers, engine, engineState, engines, hub, images, learn, networks, settings, swarm, troubleshoot, volumes,
};
