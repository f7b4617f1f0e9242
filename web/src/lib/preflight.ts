/**
 * The pre-join "test my camera and connection" check, its pure half: which browser this is and how to unblock the
 * camera and microphone in it, the microphone level from an AnalyserNode's samples, and the likely cause of a
 * connection failure from what the check observed (secure context, ICE candidates, twilio-video's preflight result).
 * The component (web/src/components/preflight.tsx) gathers the observations; this decides what to say.
 */
export type Browser = "chrome" | "edge" | "firefox" | "safari" | "ios" | "android" | "other";

/** From the user agent (only to pick instructions; nothing depends on it otherwise). iOS first: every iOS browser is WebKit. */
export function detectBrowser(ua: string): Browser {
  if (/iPhone|iPad|iPod/.test(ua) || (/Macintosh/.test(ua) && /Mobile\//.test(ua))) return "ios";
  if (/Android/.test(ua)) return "android";
  if (/Edg\//.test(ua)) return "edge";
  if (/Firefox\//.test(ua)) return "firefox";
  if (/Chrome\/|Chromium\//.test(ua)) return "chrome";
  if (/Safari\//.test(ua)) return "safari";
  return "other";
}

/** Exact steps to allow camera and microphone for this site, per browser. */
export function permissionHelp(browser: Browser): { browser: string; steps: string[] } {
  switch (browser) {
    case "chrome":
      return {
        browser: "Chrome",
        steps: [
          "Click the camera icon (or the tune icon) at the left of the address bar.",
          "Set Camera and Microphone to Allow.",
          "Reload the page and run the check again.",
          "Still blocked? On a Mac: System Settings › Privacy & Security › Camera (and Microphone) › turn on Google Chrome, then restart Chrome. On Windows: Settings › Privacy › Camera › allow desktop apps.",
        ],
      };
    case "edge":
      return {
        browser: "Edge",
        steps: [
          "Click the lock icon at the left of the address bar, then Permissions for this site.",
          "Set Camera and Microphone to Allow.",
          "Reload the page and run the check again.",
          "Still blocked? Windows: Settings › Privacy & security › Camera (and Microphone) › allow apps and desktop apps.",
        ],
      };
    case "firefox":
      return {
        browser: "Firefox",
        steps: [
          "Click the camera or microphone icon with a line through it at the left of the address bar.",
          "Click the × next to Blocked Temporarily or Blocked to clear it.",
          "Reload the page and choose Allow when Firefox asks.",
          "Still blocked? Settings › Privacy & Security › Permissions › Camera/Microphone › Settings… and remove this site from the block list.",
        ],
      };
    case "safari":
      return {
        browser: "Safari",
        steps: [
          "In the menu bar choose Safari › Settings for This Website… (or Settings › Websites).",
          "Set Camera and Microphone to Allow for this site.",
          "Reload the page and run the check again.",
          "Still blocked? System Settings › Privacy & Security › Camera (and Microphone) › turn on Safari.",
        ],
      };
    case "ios":
      return {
        browser: "iPhone or iPad",
        steps: [
          "In Safari tap the aA button in the address bar › Website Settings › set Camera and Microphone to Allow.",
          "Using Chrome or another app? Open the Settings app › that app (e.g. Chrome) › turn on Camera and Microphone.",
          "Also check Settings › Screen Time › Content & Privacy Restrictions › Camera is allowed.",
          "Go back, reload the page and run the check again.",
        ],
      };
    case "android":
      return {
        browser: "Android",
        steps: [
          "Tap the lock or tune icon at the left of the address bar › Permissions.",
          "Turn on Camera and Microphone (or reset permissions for this site).",
          "If there is no switch: Android Settings › Apps › Chrome › Permissions › allow Camera and Microphone.",
          "Reload the page and run the check again.",
        ],
      };
    default:
      return {
        browser: "your browser",
        steps: [
          "Open this site's settings from the icon at the left of the address bar and allow Camera and Microphone.",
          "Reload the page and run the check again.",
          "If your browser has no such setting, use a current Chrome, Edge, Firefox or Safari.",
        ],
      };
  }
}

/** Microphone level 0..1 from getByteTimeDomainData samples (128 = silence): the RMS, scaled so speech reads well. */
export function micLevel(samples: Uint8Array): number {
  if (!samples.length) return 0;
  let sum = 0;
  for (const s of samples) {
    const v = (s - 128) / 128;
    sum += v * v;
  }
  return Math.min(1, Math.sqrt(sum / samples.length) * 4);
}

export type PermissionState = "granted" | "denied" | "prompt" | "unknown";

export interface ConnectivityObservation {
  /** window.isSecureContext: getUserMedia and WebRTC need HTTPS (or localhost). */
  secureContext: boolean;
  /** RTCPeerConnection exists. */
  webrtc: boolean;
  provider: "twilio" | "local";
  /** ICE candidate types gathered (local mode: our loopback; Twilio: the preflight report's candidates). */
  candidates: { host: number; srflx: number; relay: number };
  /** Media flowed (local: the loopback's data channel opened; Twilio: the preflight completed). */
  connected: boolean;
  /** Twilio: the preflight's failure code (TwilioError.code), when it failed. */
  errorCode?: number | null;
  /** Twilio: the selected candidate pair was relayed (TURN). */
  relayed?: boolean;
  /** Local mode: whether the app's RTC configuration has a TURN server. */
  turnConfigured?: boolean;
}

export type Cause =
  | "ok"
  | "ok_relayed"
  | "same_network_only"
  | "insecure"
  | "no_webrtc"
  | "token"
  | "signaling_blocked"
  | "udp_blocked"
  | "no_turn"
  | "unknown";

export interface Diagnosis {
  cause: Cause;
  ok: boolean;
  title: string;
  advice: string;
}

const d = (cause: Cause, ok: boolean, title: string, advice: string): Diagnosis => ({ cause, ok, title, advice });

/** The likely cause, most fundamental first. */
export function diagnose(o: ConnectivityObservation): Diagnosis {
  if (!o.secureContext)
    return d(
      "insecure",
      false,
      "This page is not secure (no HTTPS).",
      "Open the invite link exactly as you received it: it must start with https://. Video and microphone only work on secure pages.",
    );
  if (!o.webrtc)
    return d("no_webrtc", false, "This browser cannot do video calls.", "Use a current Chrome, Edge, Firefox or Safari (on iPhone: iOS 14.3 or later).");
  if (o.provider === "twilio") {
    const code = o.errorCode ?? null;
    if (o.connected) {
      return o.relayed
        ? d(
            "ok_relayed",
            true,
            "Your connection works, through a relay.",
            "Your network blocks direct video (UDP), so video goes through a relay server: it works, with a little more delay.",
          )
        : d("ok", true, "Your connection works.", "You are ready to join.");
    }
    if (code !== null && code >= 20100 && code < 20200)
      return d("token", false, "The check could not start (its pass was refused).", "Reload the page; check that your device's clock is set automatically.");
    if (code !== null && code >= 53000 && code < 53100)
      return d(
        "signaling_blocked",
        false,
        "The video service cannot be reached from this network.",
        "A firewall or proxy is blocking secure WebSocket connections (port 443) to Twilio. Try another network or a phone hotspot, or ask your IT team to allow *.twilio.com.",
      );
    if (o.candidates.srflx === 0 && o.candidates.relay === 0)
      return d(
        "udp_blocked",
        false,
        "Video traffic is blocked on this network.",
        "UDP (port 3478 and ports 10000–60000) and the TURN relay over TCP/TLS 443 all failed. Try another network or a phone hotspot, or ask your IT team to allow Twilio's media ports.",
      );
    return d(
      "unknown",
      false,
      "The connection check failed.",
      "Try another network or browser; if it keeps failing, tell the facilitator what this page says.",
    );
  }
  // Local (peer-to-peer) mode: the loopback only proves this browser can connect to itself.
  if (!o.connected)
    return d(
      "udp_blocked",
      false,
      "This browser could not open a video connection.",
      "Something on this device blocks WebRTC (an extension, a VPN or a firewall): try another browser, or turn the VPN off.",
    );
  if (!o.turnConfigured && o.candidates.relay === 0)
    return d(
      "same_network_only",
      true,
      "Your browser can connect, on this network.",
      "This deployment has no TURN relay: people on different networks may not see each other. If video stays black after joining, join from the same network as the others, or ask for Twilio mode.",
    );
  return d("ok", true, "Your connection works.", "You are ready to join.");
}

/** Counts ICE candidates by type from candidate strings ("candidate:… typ srflx …") or stats objects. */
export function countCandidates(
  list: readonly (string | { candidateType?: string; type?: string } | null | undefined)[],
): ConnectivityObservation["candidates"] {
  const out = { host: 0, srflx: 0, relay: 0 };
  for (const c of list) {
    const type = typeof c === "string" ? /\btyp (host|srflx|prflx|relay)\b/.exec(c)?.[1] : (c?.candidateType ?? c?.type);
    if (type === "host") out.host++;
    else if (type === "srflx" || type === "prflx" || type === "serverreflexive" || type === "peerreflexive") out.srflx++;
    else if (type === "relay" || type === "relayed") out.relay++;
  }
  return out;
}
