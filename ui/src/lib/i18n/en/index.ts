// English, the source of truth: one file per section; `t("section.key")` names a message.
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

export const en = { app, common, compose, containers, engine, engineState, engines, hub, images, learn, networks, settings, swarm, troubleshoot, volumes } as const;
