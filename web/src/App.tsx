import { createResource, lazy, Match, Show, Switch } from "solid-js";
import { api } from "./lib/api";
import { setDebugLogging } from "./lib/debug";
import { currentUrl, linkClick, matchRoute } from "./lib/router";
import ConsolePage from "./pages/Console";
import Home from "./pages/Home";
import Join from "./pages/Join";
import Plans from "./pages/Plans";
import ShortInvite from "./pages/ShortInvite";
import GroupLink from "./pages/GroupLink";
import Groups from "./pages/Groups";
import Attendance from "./pages/Attendance";
import Report from "./pages/Report";
import SessionPage from "./pages/Session";
import { currentUser, isOperator } from "./lib/user";

// The operator's monitor (uPlot and its stylesheets) loads only when /monitor is opened.
const Monitor = lazy(() => import("./pages/Monitor"));

export default function App() {
  const route = () => matchRoute(currentUrl());
  // The server can turn on debug logs for everyone (DEBUG_LOGS); the build can too (VITE_ENABLE_DEBUG_LOGS).
  createResource(async () => {
    try {
      const c = await api.config();
      setDebugLogging(c.debugLogs);
      return c;
    } catch {
      return null;
    }
  });
  // In a room the room's own top bar replaces the app header: the video gets the height.
  const inRoom = () => route().name === "session" || route().name === "console";
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <Show when={!inRoom()}>
        <header class="app-header">
          <a class="brand" href="/" onClick={linkClick}>
            MindBloom Video
          </a>
          <Show when={isOperator(currentUser())}>
            <nav aria-label="Operator">
              <a href="/monitor" onClick={linkClick} data-testid="monitor-link">
                Monitoring
              </a>
            </nav>
          </Show>
        </header>
      </Show>
      <Switch
        fallback={
          <main id="main" class="narrow">
            <h1>Page not found</h1>
            <p>
              <a href="/" onClick={linkClick}>
                Go to the start page
              </a>
            </p>
          </main>
        }
      >
        <Match when={route().name === "home"}>
          <Home />
        </Match>
        <Match when={route().name === "monitor"}>
          <Monitor />
        </Match>
        <Match when={route().name === "plans"}>
          <Plans />
        </Match>
        <Match
          when={(() => {
            const r = route();
            return r.name === "report" ? r.sessionId : null;
          })()}
          keyed
        >
          {(id) => <Report sessionId={id} />}
        </Match>
        <Match
          when={(() => {
            const r = route();
            return r.name === "attendance" ? r.sessionId : null;
          })()}
          keyed
        >
          {(id) => <Attendance sessionId={id} />}
        </Match>
        <Match
          when={(() => {
            const r = route();
            return r.name === "join" ? r : null;
          })()}
          keyed
        >
          {(r) => <Join sessionId={r.sessionId} invite={r.invite} group={r.group} />}
        </Match>
        <Match
          when={(() => {
            const r = route();
            return r.name === "groupLink" ? r.code : null;
          })()}
          keyed
        >
          {(code) => <GroupLink code={code} />}
        </Match>
        <Match when={route().name === "groups"}>
          <Groups groupId={null} />
        </Match>
        <Match
          when={(() => {
            const r = route();
            return r.name === "group" ? r.groupId : null;
          })()}
          keyed
        >
          {(id) => <Groups groupId={id} />}
        </Match>
        <Match
          when={(() => {
            const r = route();
            return r.name === "shortInvite" ? r.code : null;
          })()}
          keyed
        >
          {(code) => <ShortInvite code={code} />}
        </Match>
        <Match
          when={(() => {
            const r = route();
            return r.name === "session" ? r.sessionId : null;
          })()}
          keyed
        >
          {(id) => <SessionPage sessionId={id} />}
        </Match>
        <Match
          when={(() => {
            const r = route();
            return r.name === "console" ? r.sessionId : null;
          })()}
          keyed
        >
          {(id) => <ConsolePage sessionId={id} />}
        </Match>
      </Switch>
    </>
  );
}
