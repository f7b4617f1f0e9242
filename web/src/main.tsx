import { render } from "solid-js/web";
import App from "./App";

const root = document.getElementById("root");
if (!root) throw new Error("missing #root");
const dsn = import.meta.env.VITE_SENTRY_DSN;
// Error tracking first when configured (a separate chunk, never loaded otherwise); the app renders either way.
const tracking = dsn ? import("./lib/sentry").then((m) => m.initSentry(dsn)) : Promise.resolve();
void tracking.catch(() => undefined).finally(() => render(() => <App />, root));
