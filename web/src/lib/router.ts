/**
 * Path routing with plain Solid: the current URL as a signal, `navigate()` with history.pushState, and a matcher.
 * The Worker serves index.html for every non-API path (assets.not_found_handling = "single-page-application").
 */
import { createSignal } from "solid-js";

const [url, setUrl] = createSignal(new URL(window.location.href));

window.addEventListener("popstate", () => setUrl(new URL(window.location.href)));

export const currentUrl = url;

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  const next = new URL(to, window.location.origin);
  if (opts.replace) history.replaceState(null, "", next);
  else history.pushState(null, "", next);
  setUrl(next);
  window.scrollTo(0, 0);
}

export type Route =
  | { name: "home" }
  /** `group`: reached by a recurring group's standing link, so the group credential is sent. */
  | { name: "join"; sessionId: string; invite: string | null; group: string | null }
  /** A recurring group's standing link (/g/<code>). */
  | { name: "groupLink"; code: string }
  /** The facilitator's recurring groups, and one group's page. */
  | { name: "groups" }
  | { name: "group"; groupId: string }
  /** A short invite link (/i/<code>), resolved to the join page. */
  | { name: "shortInvite"; code: string }
  | { name: "session"; sessionId: string }
  | { name: "console"; sessionId: string }
  | { name: "monitor" }
  /** The facilitator's session plans. */
  | { name: "plans" }
  | { name: "report"; sessionId: string }
  | { name: "attendance"; sessionId: string }
  | { name: "notFound" };

export function matchRoute(u: URL): Route {
  const parts = u.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { name: "home" };
  if (parts[0] === "join" && parts.length === 2)
    return { name: "join", sessionId: parts[1], invite: u.searchParams.get("invite"), group: u.searchParams.get("group") };
  if (parts[0] === "i" && parts.length === 2) return { name: "shortInvite", code: parts[1] };
  if (parts[0] === "g" && parts.length === 2) return { name: "groupLink", code: parts[1] };
  if (parts[0] === "groups" && parts.length === 1) return { name: "groups" };
  if (parts[0] === "groups" && parts.length === 2) return { name: "group", groupId: parts[1] };
  if (parts[0] === "session" && parts.length === 2) return { name: "session", sessionId: parts[1] };
  if (parts[0] === "console" && parts.length === 2) return { name: "console", sessionId: parts[1] };
  if (parts[0] === "monitor" && parts.length === 1) return { name: "monitor" };
  if (parts[0] === "plans" && parts.length === 1) return { name: "plans" };
  if (parts[0] === "report" && parts.length === 2) return { name: "report", sessionId: parts[1] };
  if (parts[0] === "report" && parts.length === 3 && parts[2] === "attendance") return { name: "attendance", sessionId: parts[1] };
  return { name: "notFound" };
}

/** Intercept clicks on same-origin <a> links so they navigate without a reload. */
export function linkClick(e: MouseEvent): void {
  const a = (e.currentTarget as HTMLAnchorElement | null) ?? null;
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const href = a.getAttribute("href");
  if (!href || a.target === "_blank" || !href.startsWith("/")) return;
  e.preventDefault();
  navigate(href);
}
