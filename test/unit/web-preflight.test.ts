/** The pre-join check's decisions (web/src/lib/preflight.ts): browsers, permission help, mic level, likely causes. */
import { describe, expect, it } from "vitest";
import { countCandidates, detectBrowser, diagnose, micLevel, permissionHelp, type ConnectivityObservation } from "../../web/src/lib/preflight";

const UA = {
  chrome: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  edge: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
  firefox: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:133.0) Gecko/20100101 Firefox/133.0",
  safari: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
  ios: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
  iosChrome: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0 Mobile/15E148 Safari/604.1",
  ipadDesktop: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
  android: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
};

describe("browser and permission help", () => {
  it("detects the browsers the instructions are for (every iOS browser is iOS)", () => {
    expect(detectBrowser(UA.chrome)).toBe("chrome");
    expect(detectBrowser(UA.edge)).toBe("edge");
    expect(detectBrowser(UA.firefox)).toBe("firefox");
    expect(detectBrowser(UA.safari)).toBe("safari");
    expect(detectBrowser(UA.ios)).toBe("ios");
    expect(detectBrowser(UA.iosChrome)).toBe("ios");
    expect(detectBrowser(UA.ipadDesktop)).toBe("ios");
    expect(detectBrowser(UA.android)).toBe("android");
    expect(detectBrowser("curl/8")).toBe("other");
  });

  it("gives exact steps per browser", () => {
    expect(permissionHelp("chrome").steps[0]).toMatch(/left of the address bar/);
    expect(permissionHelp("safari").steps[0]).toMatch(/Settings for This Website/);
    expect(permissionHelp("firefox").steps.join(" ")).toMatch(/Blocked Temporarily/);
    expect(permissionHelp("ios").steps.join(" ")).toMatch(/aA/);
    for (const b of ["chrome", "edge", "firefox", "safari", "ios", "android", "other"] as const)
      expect(permissionHelp(b).steps.length).toBeGreaterThanOrEqual(2);
  });
});

describe("microphone level", () => {
  it("silence is 0, a loud tone near 1", () => {
    expect(micLevel(new Uint8Array(256).fill(128))).toBe(0);
    const tone = Uint8Array.from({ length: 256 }, (_, i) => 128 + Math.round(100 * Math.sin((i / 256) * 2 * Math.PI * 8)));
    expect(micLevel(tone)).toBeGreaterThan(0.9);
    const quiet = Uint8Array.from({ length: 256 }, (_, i) => 128 + Math.round(4 * Math.sin((i / 256) * 2 * Math.PI * 8)));
    expect(micLevel(quiet)).toBeGreaterThan(0.05);
    expect(micLevel(quiet)).toBeLessThan(0.2);
    expect(micLevel(new Uint8Array(0))).toBe(0);
  });
});

const base: ConnectivityObservation = { secureContext: true, webrtc: true, provider: "twilio", candidates: { host: 2, srflx: 1, relay: 1 }, connected: true };

describe("likely cause", () => {
  it("HTTPS missing comes first, whatever else happened", () => {
    expect(diagnose({ ...base, secureContext: false, connected: false }).cause).toBe("insecure");
    expect(diagnose({ ...base, webrtc: false }).cause).toBe("no_webrtc");
  });

  it("Twilio: passes, relayed, token, signaling blocked (443), UDP/3478 blocked", () => {
    expect(diagnose(base)).toMatchObject({ cause: "ok", ok: true });
    expect(diagnose({ ...base, relayed: true })).toMatchObject({ cause: "ok_relayed", ok: true });
    expect(diagnose({ ...base, connected: false, errorCode: 20104 }).cause).toBe("token");
    expect(diagnose({ ...base, connected: false, errorCode: 53000 })).toMatchObject({ cause: "signaling_blocked", ok: false });
    const udp = diagnose({ ...base, connected: false, errorCode: 53405, candidates: { host: 3, srflx: 0, relay: 0 } });
    expect(udp.cause).toBe("udp_blocked");
    expect(udp.advice).toMatch(/UDP \(port 3478/);
    expect(diagnose({ ...base, connected: false, errorCode: 53405 }).cause).toBe("unknown");
  });

  it("local mode: no TURN means same network only; a failed loopback is a blocked browser", () => {
    const local: ConnectivityObservation = { ...base, provider: "local", candidates: { host: 2, srflx: 0, relay: 0 }, turnConfigured: false };
    expect(diagnose(local)).toMatchObject({ cause: "same_network_only", ok: true });
    expect(diagnose(local).advice).toMatch(/no TURN relay/);
    expect(diagnose({ ...local, turnConfigured: true }).cause).toBe("ok");
    expect(diagnose({ ...local, connected: false })).toMatchObject({ cause: "udp_blocked", ok: false });
  });

  it("counts candidates from SDP lines and stats", () => {
    expect(
      countCandidates([
        "candidate:1 1 udp 2122260223 192.168.1.2 54321 typ host generation 0",
        "candidate:2 1 udp 1686052607 203.0.113.7 54321 typ srflx raddr 192.168.1.2 rport 54321",
        { candidateType: "relay" },
        { type: "host" },
        null,
      ]),
    ).toEqual({ host: 2, srflx: 1, relay: 1 });
  });
});
