import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";
import { t } from "./lib/i18n";

const target = document.getElementById("app")!;

function showFatal(error: unknown) {
  // Never a blank window: say what broke.
  const pre = document.createElement("pre");
  pre.setAttribute("data-testid", "fatal-error");
  pre.style.cssText = "padding:24px;white-space:pre-wrap;color:#c92a2a";
  pre.textContent = `${t("app.windowFailed")}\n${error instanceof Error ? `${error.message}\n${error.stack}` : String(error)}`;
  document.body.replaceChildren(pre);
}

addEventListener("error", (e) => showFatal(e.error ?? e.message));
document.documentElement.dataset.boot = "mounting";
let app: ReturnType<typeof mount> | undefined;
try {
  app = mount(App, { target });
  document.documentElement.dataset.boot = "mounted";
} catch (e) {
  showFatal(e);
}

export default app;
