/**
 * Media errors in plain words: what happened and what to do, for the person it happened to (a client or a therapist,
 * not an engineer). Twilio's codes (shared/TWILIO.md; twilio-video's TwilioError has `code`), getUserMedia's DOMException
 * names, and our own local-mode failures. Pure: the room pages show `explainMediaError(err)`.
 *
 * `retry`: what the page should offer — "reconnect" (connect again, the app fetches a fresh token), "rejoin" (back
 * through the invite link), "devices" (the device check), or "wait" (nothing the person can do; staff may).
 */
export type MediaErrorAction = "reconnect" | "rejoin" | "devices" | "wait";

export interface ExplainedMediaError {
  /** One sentence: what happened. */
  title: string;
  /** What to do, as a person would be told. */
  advice: string;
  action: MediaErrorAction;
  /** The code or name it came from ("20104", "NotAllowedError"), for a support request. */
  code: string;
  /** Whether staff should hear about it (the page may show it to facilitators too). */
  tellStaff: boolean;
}

type Entry = Omit<ExplainedMediaError, "code">;

const SIGNALING: Entry = {
  title: "The video service could not be reached.",
  advice: "Check your internet connection. On a work or school network, video may be blocked: try another network or your phone's hotspot. Then reconnect.",
  action: "reconnect",
  tellStaff: false,
};
const MEDIA_PATH: Entry = {
  title: "Your video connection could not be set up.",
  advice:
    "Your network may be blocking video traffic (UDP, or port 3478). Try another network or a phone hotspot, or ask your IT team to allow Twilio's media ports. Then reconnect.",
  action: "reconnect",
  tellStaff: false,
};

/** Twilio Video error codes (twilio-video.js TwilioError.code; REST error bodies use the same numbers). */
const TWILIO: Record<number, Entry> = {
  20101: {
    title: "Your video pass was not accepted.",
    advice: "Reconnect; if it keeps happening, leave and join again with your invite link.",
    action: "reconnect",
    tellStaff: false,
  },
  20103: {
    title: "Your video pass was not accepted.",
    advice: "Reconnect; if it keeps happening, leave and join again with your invite link.",
    action: "reconnect",
    tellStaff: false,
  },
  20104: {
    title: "Your video pass expired.",
    advice: "Reconnect: the app gets you a fresh one. If your computer was asleep, this is expected.",
    action: "reconnect",
    tellStaff: false,
  },
  20105: {
    title: "Your video pass is not valid yet.",
    advice: "Check that your device's clock and time zone are set automatically, then reconnect.",
    action: "reconnect",
    tellStaff: false,
  },
  20107: { title: "Your video pass is missing who you are.", advice: "Leave and join again with your invite link.", action: "rejoin", tellStaff: true },
  20157: {
    title: "Your video pass lasts too long to be accepted.",
    advice: "Reconnect; if it keeps happening, tell the facilitator.",
    action: "reconnect",
    tellStaff: true,
  },
  53000: SIGNALING,
  53001: { ...SIGNALING, title: "The connection to the video service dropped." },
  53002: { ...SIGNALING, title: "The video service did not answer in time." },
  53006: { title: "The video service is busy right now.", advice: "Wait a few seconds and reconnect.", action: "reconnect", tellStaff: false },
  53100: {
    title: "This video room could not be opened.",
    advice: "Wait a moment: the facilitator may be moving people. Reconnect if nothing happens.",
    action: "wait",
    tellStaff: true,
  },
  53101: {
    title: "This video room's name is not valid.",
    advice: "Tell the facilitator; leave and join again if it continues.",
    action: "wait",
    tellStaff: true,
  },
  53103: { title: "This video room could not be created.", advice: "Tell the facilitator; it is being retried.", action: "wait", tellStaff: true },
  53104: {
    title: "This video room is not available.",
    advice: "Wait a moment: it may be closing or reopening. Reconnect if nothing happens.",
    action: "wait",
    tellStaff: true,
  },
  53105: {
    title: "This video room is full.",
    advice: "Tell the facilitator: they can move someone or make the room larger. You stay in the session meanwhile.",
    action: "wait",
    tellStaff: true,
  },
  53106: {
    title: "This video room no longer exists.",
    advice: "Wait a moment: you will be moved where you belong. Reconnect if nothing happens.",
    action: "wait",
    tellStaff: false,
  },
  53118: { title: "This video room has closed.", advice: "You will be moved where you belong in a moment.", action: "wait", tellStaff: false },
  53205: {
    title: "You joined from another tab or device.",
    advice: "Video moved to the newest one. Close the other tab or device, then reconnect here if this is where you want to be.",
    action: "reconnect",
    tellStaff: false,
  },
  53400: MEDIA_PATH,
  53401: { ...MEDIA_PATH, title: "Your video connection was blocked or lost." },
  53402: { ...MEDIA_PATH, title: "Video could not be set up on this browser connection." },
  53403: {
    title: "Your browser could not prepare video.",
    advice: "Update your browser (Chrome, Firefox, Safari or Edge), then reconnect.",
    action: "reconnect",
    tellStaff: false,
  },
  53405: MEDIA_PATH,
  53407: { ...MEDIA_PATH, title: "Your video connection could not be secured." },
};

/** getUserMedia / device failures by DOMException name. */
const DEVICE: Record<string, Entry> = {
  NotAllowedError: {
    title: "Camera or microphone access is blocked.",
    advice: "Allow the camera and microphone for this site (the device check shows how in your browser), then try again.",
    action: "devices",
    tellStaff: false,
  },
  SecurityError: {
    title: "This page is not allowed to use your camera or microphone.",
    advice: "Open the invite link exactly as you received it (it must start with https://).",
    action: "rejoin",
    tellStaff: false,
  },
  NotFoundError: {
    title: "No camera or microphone was found.",
    advice: "Plug one in or turn it on, then run the device check again.",
    action: "devices",
    tellStaff: false,
  },
  NotReadableError: {
    title: "Your camera or microphone is being used by another app.",
    advice: "Close other video apps (Zoom, Teams, FaceTime…) or other tabs using the camera, then try again.",
    action: "devices",
    tellStaff: false,
  },
  OverconstrainedError: {
    title: "Your camera cannot do what was asked of it.",
    advice: "Choose another camera in the device check.",
    action: "devices",
    tellStaff: false,
  },
  AbortError: {
    title: "Your camera or microphone stopped unexpectedly.",
    advice: "Unplug and replug it, or restart the browser, then try again.",
    action: "devices",
    tellStaff: false,
  },
};

/** Our own local-mode (peer-to-peer) failures, as web/src/media/local.ts reports them. */
const LOCAL: Record<string, Entry> = {
  ice_failed: { ...MEDIA_PATH, title: "Could not connect to the others in this room." },
  peer_disconnected: {
    title: "The connection to someone in this room dropped.",
    advice: "It usually comes back by itself; reconnect if it does not.",
    action: "reconnect",
    tellStaff: false,
  },
};

const FALLBACK: Entry = {
  title: "Video stopped working.",
  advice: "Reconnect. If it keeps happening, leave and join again with your invite link.",
  action: "reconnect",
  tellStaff: false,
};

/** The code of an error from twilio-video, getUserMedia or our media layer; "" when there is none. */
export function mediaErrorCode(err: unknown): string {
  if (typeof err === "number") return String(err);
  if (typeof err === "string") return err;
  if (!err || typeof err !== "object") return "";
  const e = err as { code?: unknown; name?: unknown };
  if (typeof e.code === "number" && e.code >= 20000) return String(e.code);
  if (typeof e.code === "string" && e.code) return e.code;
  return typeof e.name === "string" ? e.name : "";
}

export function explainMediaError(err: unknown): ExplainedMediaError {
  const code = mediaErrorCode(err);
  const n = Number(code);
  const entry = (Number.isInteger(n) ? TWILIO[n] : undefined) ?? DEVICE[code] ?? LOCAL[code];
  if (entry) return { ...entry, code };
  // Unknown codes of a known family still get the family's advice.
  if (n >= 53000 && n < 53100) return { ...SIGNALING, code };
  if (n >= 53400 && n < 53500) return { ...MEDIA_PATH, code };
  if (n >= 20100 && n < 20200) return { ...TWILIO[20101], code };
  return { ...FALLBACK, code };
}

/**
 * The same failure as staff read it beside the member ("stuck connecting"): what is wrong on their side, in a few
 * words, from the code their app reported (the `mediaProblem` message). Staff can then tell them what to do.
 */
export function staffMediaProblem(code: string): string {
  const e = explainMediaError(code);
  if (code === "NotAllowedError" || code === "SecurityError") return "camera or microphone blocked in their browser";
  if (e.action === "devices") return "camera or microphone not working";
  const n = Number(code);
  if (n === 53205) return "video open in another tab or device";
  if (n >= 20100 && n < 20200) return "video pass rejected (they should reconnect)";
  if ((n >= 53400 && n < 53500) || code === "ice_failed") return "their network blocks video (UDP / port 3478)";
  if (n >= 53000 && n < 53100) return "cannot reach the video service (network)";
  if (n === 53105) return "the video room is full";
  return `video will not connect (${code || "unknown error"})`;
}

/** The code as the protocol carries it (letters, digits and "_", at most 40). */
export function reportableMediaCode(code: string): string {
  return (code.replace(/[^A-Za-z0-9_]/g, "_") || "unknown").slice(0, 40);
}
