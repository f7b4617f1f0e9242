/**
 * "Test my camera and connection", before joining: camera and microphone permission states (with exact steps to
 * unblock them in this browser), a microphone level meter (Web Audio AnalyserNode), and a connectivity check that names
 * the likely cause when it fails — twilio-video's `runPreflight` in Twilio mode (token from
 * POST /api/sessions/:id/preflight-token), a two-peer-connection loopback in local mode. Decisions live in
 * web/src/lib/preflight.ts; this component only observes.
 *
 * Self-contained: give it the session and invite, and (optionally) the microphone track the page already has, so the
 * meter does not open the microphone a second time.
 */
import { createSignal, For, onCleanup, onMount, Show } from "solid-js";
import type { MediaTrack } from "../media/provider";
import { countCandidates, detectBrowser, diagnose, micLevel, permissionHelp, type Diagnosis, type PermissionState } from "../lib/preflight";

const CHECK_TIMEOUT_MS = 20_000;

async function permissionOf(name: "camera" | "microphone"): Promise<PermissionState> {
  try {
    // Firefox and older Safari do not know these names: "unknown" then, and getUserMedia's answer tells.
    const status = await navigator.permissions.query({ name: name as PermissionName });
    return status.state as PermissionState;
  } catch {
    return "unknown";
  }
}

/** Local mode: two peer connections in this page, with the app's (empty) ICE configuration, and a data channel. */
async function loopback(config: RTCConfiguration): Promise<{ connected: boolean; candidates: string[] }> {
  const a = new RTCPeerConnection(config);
  const b = new RTCPeerConnection(config);
  const candidates: string[] = [];
  const relay = (from: RTCPeerConnection, to: RTCPeerConnection) =>
    from.addEventListener("icecandidate", (e) => {
      if (!e.candidate) return;
      candidates.push(e.candidate.candidate);
      void to.addIceCandidate(e.candidate).catch(() => undefined);
    });
  relay(a, b);
  relay(b, a);
  try {
    const channel = a.createDataChannel("preflight");
    const opened = new Promise<boolean>((resolve) => {
      channel.onopen = () => resolve(true);
      setTimeout(() => resolve(false), 8000);
    });
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription!);
    return { connected: await opened, candidates };
  } finally {
    a.close();
    b.close();
  }
}

/** Twilio mode: twilio-video's preflight (signaling + TURN + media between two local peers); its code on failure. */
async function twilioPreflight(
  token: string,
): Promise<{ connected: boolean; code: number | null; candidates: { candidateType?: string }[]; relayed: boolean }> {
  const Video = await import("twilio-video");
  return new Promise((resolve) => {
    const test = Video.runPreflight(token, { duration: 5000 });
    const timer = setTimeout(() => {
      test.stop();
      resolve({ connected: false, code: null, candidates: [], relayed: false });
    }, CHECK_TIMEOUT_MS);
    test.on("completed", (report) => {
      clearTimeout(timer);
      const selected = report.selectedIceCandidatePairStats;
      resolve({ connected: true, code: null, candidates: report.iceCandidateStats, relayed: selected?.localCandidate.candidateType === "relay" });
    });
    test.on("failed", (error, report) => {
      clearTimeout(timer);
      const raw = (error as unknown as { code?: unknown }).code;
      const code = typeof raw === "number" ? raw : null;
      resolve({ connected: false, code, candidates: report?.iceCandidateStats ?? [], relayed: false });
    });
  });
}

const PERMISSION_TEXT: Record<PermissionState, string> = { granted: "Allowed", denied: "Blocked", prompt: "Will ask", unknown: "Not known yet" };

export function PreflightCheck(props: {
  sessionId: string;
  invite: string | null;
  /** The page's microphone track, when it has one (the meter listens to it). */
  audioTrack?: MediaTrack | null;
  /** A getUserMedia failure the page met (its DOMException name), e.g. "NotAllowedError". */
  deviceError?: string | null;
  /** Local mode's RTC configuration (as web/src/media/local.ts uses it). */
  rtcConfig?: RTCConfiguration;
}) {
  const [camera, setCamera] = createSignal<PermissionState>("unknown");
  const [microphone, setMicrophone] = createSignal<PermissionState>("unknown");
  const [level, setLevel] = createSignal(0);
  const [running, setRunning] = createSignal(false);
  const [result, setResult] = createSignal<Diagnosis | null>(null);
  const help = permissionHelp(detectBrowser(navigator.userAgent));
  const blocked = () => camera() === "denied" || microphone() === "denied" || props.deviceError === "NotAllowedError";

  onMount(() => {
    void permissionOf("camera").then(setCamera);
    void permissionOf("microphone").then(setMicrophone);
  });

  // The meter: an AnalyserNode on the page's microphone track, read once per animation frame.
  let audio: AudioContext | null = null;
  let frame = 0;
  const meter = () => {
    const track = props.audioTrack;
    if (!track || typeof MediaStreamTrack === "undefined" || !(track instanceof MediaStreamTrack) || audio) return;
    audio = new AudioContext();
    const analyser = audio.createAnalyser();
    analyser.fftSize = 512;
    audio.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    const samples = new Uint8Array(analyser.fftSize);
    const tick = () => {
      analyser.getByteTimeDomainData(samples);
      setLevel(micLevel(samples));
      frame = requestAnimationFrame(tick);
    };
    tick();
  };
  onMount(meter);
  onCleanup(() => {
    cancelAnimationFrame(frame);
    void audio?.close();
  });

  async function check() {
    setRunning(true);
    setResult(null);
    meter(); // a track may have arrived since mount (and audio needs a user gesture in some browsers)
    void audio?.resume();
    try {
      const secureContext = window.isSecureContext;
      const webrtc = typeof RTCPeerConnection !== "undefined";
      if (!secureContext || !webrtc) {
        setResult(diagnose({ secureContext, webrtc, provider: "local", candidates: { host: 0, srflx: 0, relay: 0 }, connected: false }));
        return;
      }
      const res = await fetch(`/api/sessions/${encodeURIComponent(props.sessionId)}/preflight-token`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(props.invite ? { invite: props.invite } : {}),
      });
      const grant = (await res.json().catch(() => null)) as { provider?: string; token?: string | null } | null;
      if (!res.ok || !grant) {
        setResult({
          cause: "unknown",
          ok: false,
          title: "The check could not start.",
          advice: "Reload the page with your invite link; if it still fails, you can join anyway.",
        });
        return;
      }
      if (grant.provider === "twilio" && grant.token) {
        const r = await twilioPreflight(grant.token);
        setResult(
          diagnose({
            secureContext,
            webrtc,
            provider: "twilio",
            candidates: countCandidates(r.candidates),
            connected: r.connected,
            errorCode: r.code,
            relayed: r.relayed,
          }),
        );
      } else {
        const config = props.rtcConfig ?? { iceServers: [] };
        const r = await loopback(config);
        const turnConfigured = (config.iceServers ?? []).some((s) => [s.urls].flat().some((u) => /^turns?:/.test(String(u))));
        setResult(diagnose({ secureContext, webrtc, provider: "local", candidates: countCandidates(r.candidates), connected: r.connected, turnConfigured }));
      }
    } finally {
      setRunning(false);
    }
  }

  return (
    <section class="preflight" aria-labelledby="preflight-h" data-testid="preflight">
      <h2 id="preflight-h">Test my camera and connection</h2>
      <ul class="plain" data-testid="preflight-permissions">
        <li>
          Camera: <strong data-state={camera()}>{PERMISSION_TEXT[camera()]}</strong>
        </li>
        <li>
          Microphone: <strong data-state={microphone()}>{PERMISSION_TEXT[microphone()]}</strong>
        </li>
      </ul>
      <Show when={blocked()}>
        <div class="banner warn" role="alert" data-testid="preflight-unblock">
          <p>Camera or microphone is blocked. To allow them in {help.browser}:</p>
          <ol>
            <For each={help.steps}>{(s) => <li>{s}</li>}</For>
          </ol>
        </div>
      </Show>
      <Show when={props.audioTrack}>
        <label for="preflight-mic-level">Microphone level (speak to test)</label>
        <meter id="preflight-mic-level" min={0} max={1} low={0.1} optimum={0.5} value={level()} data-testid="preflight-mic-level" />
      </Show>
      <button type="button" onClick={() => void check()} disabled={running()} data-testid="preflight-run">
        {running() ? "Testing the connection…" : "Test my connection"}
      </button>
      <Show when={result()}>
        {(r) => (
          <p class={`banner ${r().ok ? "info" : "danger"}`} role="status" data-testid="preflight-result" data-cause={r().cause}>
            <strong>{r().title}</strong> {r().advice}
          </p>
        )}
      </Show>
    </section>
  );
}
