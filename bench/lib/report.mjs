// bench/results/latest.md: one short table (plus the run's conditions), optionally next to a baseline run.

const f = (x, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? "–" : Number(x).toFixed(d).replace(/\.0+$/, ""));
const pct = (s) => (s?.n ? `${f(s.p50)} / ${f(s.p99)} / ${f(s.max)}` : "–");

/** Rows: [benchmark, metric, extractor(doc) → string, goal, met(doc) → boolean|null]. */
const ROWS = [
  [
    "1. Fan-out (49 participants, 10 rooms)",
    "openBreakouts → all placed, ms p50/p99/max",
    (d) => pct(d.results.fanout?.openToAllPlacedMs),
    "p99 < 25 ms",
    (d) => lt(d.results.fanout?.openToAllPlacedMs?.p99, 25),
  ],
  ["", "openBreakouts ack, ms", (d) => pct(d.results.fanout?.openAckMs), "", null],
  ["", "closeAll(0) → all back in main, ms", (d) => pct(d.results.fanout?.closeAllToAllBackMs), "", null],
  ["", "same under `wrangler dev` (dev proxy + entry Workers), ms", (d) => pct(d.results.fanoutViaWranglerPort?.openToAllPlacedMs), "", null],
  ["", "rounds / bad placements", (d) => (d.results.fanout ? `${d.results.fanout.rounds} / ${d.results.fanout.problemCount}` : "–"), "", null],
  [
    "2. Live moves, 1 in flight",
    "commands/s",
    (d) => f(d.results.moves?.commandsPerSecond, 0),
    "≥ 2,000/s",
    (d) => ge(d.results.moves?.commandsPerSecond, 2000),
  ],
  ["", "ack ms p50/p99/max", (d) => pct(d.results.moves?.ackMs), "", null],
  ["", "D1 transitions = joins + opens + moves", (d) => d1(d.results.moves), "equal", (d) => d.results.moves?.d1?.match ?? null],
  [
    "2b. Live moves, 16 in flight",
    "commands/s",
    (d) => f(d.results.movesWindow16?.commandsPerSecond, 0),
    "≥ 2,000/s",
    (d) => ge(d.results.movesWindow16?.commandsPerSecond, 2000),
  ],
  ["", "ack ms p50/p99/max", (d) => pct(d.results.movesWindow16?.ackMs), "", null],
  ["", "D1 transitions match", (d) => d1(d.results.movesWindow16), "equal", (d) => d.results.movesWindow16?.d1?.match ?? null],
  [
    "",
    "workerd CPU per move (of it: kernel)",
    (d) =>
      d.results.movesWindow16?.workerdCpuMsPerCommand != null
        ? `${f(d.results.movesWindow16.workerdCpuMsPerCommand, 2)} ms (${f(d.results.movesWindow16.workerdSystemCpuMsPerCommand, 2)} ms)`
        : "–",
    "≤ 0.5 ms",
    (d) => (d.results.movesWindow16?.workerdCpuMsPerCommand != null ? d.results.movesWindow16.workerdCpuMsPerCommand <= 0.5 : null),
  ],
  [
    "2c. Live moves, 16 in flight, everyone on media",
    "workerd CPU per move: the move, its kick and Twilio's two callbacks (one an arrival)",
    (d) => (d.results.movesWindow16Media?.workerdCpuMsPerCommand != null ? `${f(d.results.movesWindow16Media.workerdCpuMsPerCommand, 2)} ms` : "–"),
    "",
    null,
  ],
  ["", "D1 transitions match", (d) => d1(d.results.movesWindow16Media), "equal", (d) => d.results.movesWindow16Media?.d1?.match ?? null],
  ...tokenRows("token", "3. Token endpoint (workerd)", true),
  ...tokenRows("tokenViaWrangler", "3b. Token endpoint under `wrangler dev` (reference)", false),
  [
    "4. Many sessions",
    "sessions / sockets connected (of 1,000 / 11,000)",
    (d) =>
      d.results.many && !d.results.many.error
        ? `${d.results.many.sessionsCreated ?? d.results.many.sessionsRequested} / ${d.results.many.socketsConnected}`
        : "–",
    "10,000+ sockets",
    (d) => ge(d.results.many?.socketsConnected, 10000),
  ],
  [
    "",
    "stopped at the fd ceiling (workerd open files / limit)",
    (d) =>
      d.results.many?.stoppedAtFdCeiling
        ? `yes: ${d.results.many.stoppedAtFdCeiling.userWorkerdOpenFiles} / ${d.results.many.stoppedAtFdCeiling.softLimit}`
        : d.results.many && !d.results.many.error
          ? "no"
          : "–",
    "",
    null,
  ],
  ["", "broadcast → all 10 hold it, ms (all)", (d) => pct(d.results.many?.broadcast?.all), "p99 < 100 ms", (d) => lt(d.results.many?.broadcast?.all?.p99, 100)],
  ["", "… in the busy sessions, ms", (d) => pct(d.results.many?.broadcast?.busySessions), "", null],
  [
    "",
    "busy sessions (1 move/s each): moves/s, ack ms",
    (d) => (d.results.many?.busy ? `${d.results.many.busy.movesPerSecond}/s, ${pct(d.results.many.busy.ackMs)}` : "–"),
    "",
    null,
  ],
  ["", "workerd RSS per session (with sockets), KiB", (d) => f(d.results.many?.memory?.perSessionKb, 0), "", null],
  ["", "workerd RSS per socket, KiB", (d) => f(d.results.many?.memory?.perSocketKb, 0), "", null],
  ["5. Resume (session DO rebuilt)", "reconnect → staff snapshot, cold DO, ms", (d) => pct(d.results.resumeCold?.facilitatorSnapshotMs), "", null],
  ["", "same, warm DO, ms", (d) => pct(d.results.resumeWarm?.facilitatorSnapshotMs), "", null],
  ["", "cold / warm p50", (d) => ratio(d.results.resumeCold?.facilitatorSnapshotMs?.p50, d.results.resumeWarm?.facilitatorSnapshotMs?.p50), "", null],
  ["", "participant reconnect → placement, cold, ms", (d) => pct(d.results.resumeCold?.participantSnapshotMs), "", null],
  [
    "",
    "snapshots differing from the state before",
    (d) => (d.results.resumeCold ? `${d.results.resumeCold.problemCount} of ${d.results.resumeCold.sessions}` : "–"),
    "0",
    (d) => (d.results.resumeCold ? d.results.resumeCold.problemCount === 0 : null),
  ],
  [
    "6. One member floods (default budgets)",
    "facilitator command ack under flood, ms p50/p99/max",
    (d) => pct(d.results.flood?.facilitatorUnderFlood?.ackMs),
    "p99 < 100 ms",
    (d) => lt(d.results.flood?.facilitatorUnderFlood?.ackMs?.p99, 100),
  ],
  ["", "same, nobody flooding, ms", (d) => pct(d.results.flood?.facilitatorAlone?.ackMs), "", null],
  [
    "",
    "attacker: sockets open of 100 tried; messages sent; HTTP commands (statuses)",
    (d) => {
      const x = d.results.flood;
      if (!x) return "–";
      const http = Object.entries(x.flood.httpStatus)
        .map(([k, v]) => `${v}×${k}`)
        .join(", ");
      return `${x.attackerSockets.openAfter}; ${x.flood.socketMessagesSent} (${x.flood.reconnects} reconnects); ${x.flood.httpCommands} (${http})`;
    },
    "≤ 3 sockets",
    (d) => (d.results.flood ? d.results.flood.attackerSockets.openAfter <= 3 : null),
  ],
];

function tokenRows(key, title, goal) {
  const t = (d, kind) => d.results[key]?.targets?.find((x) => x.kind === kind);
  const row = (x) =>
    x ? `${f(x.okPerSecond, 0)} req/s, p50/p99/max ${f(x.p50)} / ${f(x.p99)} / ${f(x.max)} ms${x.non2xx ? `, ${x.non2xx} non-2xx` : ""}` : "–";
  const cpu = (x, p) => (x?.cpuMsPerRequest?.[p] != null ? `${f(x.cpuMsPerRequest[p], 3)} ms` : "–");
  return [
    [title, "peer: Express + twilio + jsonwebtoken", (d) => row(t(d, "peer")), "", null],
    ["", "ours", (d) => row(t(d, "ours")), "", null],
    ["", "CPU per request: peer (node) / ours (workerd)", (d) => `${cpu(t(d, "peer"), "peer")} / ${cpu(t(d, "ours"), "userWorkerd")}`, "", null],
    [
      "",
      "ratio ours/peer at saturation: req/s; p99",
      (d) => (t(d, "ours") ? `${t(d, "ours").throughputVsPeer}×; ${t(d, "ours").p99VsPeer}×` : "–"),
      goal ? "req/s ≥ 1.0×" : "",
      goal ? (d) => (t(d, "ours") ? t(d, "ours").throughputVsPeer >= 1 && !t(d, "ours").non2xx : null) : null,
    ],
    [
      "",
      "at half the peer's maximum: offered req/s; p50/p99 peer vs ours",
      (d) => {
        const p = t(d, "peer")?.atHalfPeerRate;
        const o = t(d, "ours")?.atHalfPeerRate;
        return p && o ? `${p.offeredPerSecond}/s; ${f(p.p50)}/${f(p.p99)} vs ${f(o.p50)}/${f(o.p99)} ms` : "–";
      },
      goal ? "ours p99 ≤ peer" : "",
      goal
        ? (d) => {
            const p = t(d, "peer")?.atHalfPeerRate;
            const o = t(d, "ours")?.atHalfPeerRate;
            return p && o ? o.p99 <= p.p99 && !o.non2xx : null;
          }
        : null,
    ],
  ];
}

const lt = (x, g) => (typeof x === "number" ? x < g : null);
const ge = (x, g) => (typeof x === "number" ? x >= g : null);
const ratio = (a, b) => (typeof a === "number" && typeof b === "number" && b > 0 ? `${(a / b).toFixed(1)}×` : "–");
const d1 = (m) => (m?.d1 ? `${m.d1.rows ?? "?"} / ${m.d1.expectedTransitions}` : "–");

export function renderMarkdown(doc, baseline, baselineName) {
  const lines = [];
  lines.push(`# MindBloom Video benchmarks`);
  lines.push("");
  lines.push(
    `${doc.meta.startedAt} · ${doc.meta.cpus} CPUs (${doc.meta.cpuModel ?? "?"}) · Node ${doc.meta.node} · wrangler ${doc.meta.wrangler} (workerd, local) · ${doc.meta.quick ? "quick sizes" : "full sizes"}${doc.meta.label ? ` · ${doc.meta.label}` : ""}`,
  );
  lines.push("");
  lines.push(
    "Runtime: the production bundle (`wrangler deploy --dry-run`) on workerd through Miniflare's API, requests on a socket bound to the Worker " +
      "(Workers assets router in front, as deployed), state directory " +
      `${doc.meta.stateDir ?? "?"}${doc.meta.stateOnTmpfs ? " (tmpfs: local workerd fsyncs every SQLite commit on the request thread, Cloudflare's storage does not)" : " (disk)"}. ` +
      "Bench env: APP_ENV=development, DEV_SIGNIN=on, Twilio media against the local Twilio-compatible server; **per-socket budgets raised**: " +
      `SOCKET_BUDGET_STAFF=${doc.meta.vars?.SOCKET_BUDGET_STAFF}, SOCKET_BUDGET_PARTICIPANT=${doc.meta.vars?.SOCKET_BUDGET_PARTICIPANT}, **media-token limit raised**: MEDIA_TOKEN_REQUESTS_PER_MINUTE=${doc.meta.vars?.MEDIA_TOKEN_REQUESTS_PER_MINUTE ?? "60"}; REQUEST_LOG_SAMPLE_RATE default (0.05). ` +
      "Latencies are end to end, measured in the client.",
  );
  lines.push("");
  const head = baseline ? `| Benchmark | Metric | Result | Goal | Met | Before (${baselineName}) |` : "| Benchmark | Metric | Result | Goal | Met |";
  if (doc.meta.nice) lines.push(`Bench processes ran at nice ${doc.meta.nice} (the machine is shared; other load is listed below).\n`);
  lines.push(head);
  lines.push(baseline ? "|---|---|---|---|---|---|" : "|---|---|---|---|---|");
  for (const [bench, metric, get, goal, met] of ROWS) {
    const value = safe(() => get(doc));
    const m = met ? safe(() => met(doc)) : null;
    const mark = m === true ? "yes" : m === false ? "**no**" : "";
    const cells = [bench, metric, value, goal, mark];
    if (baseline) cells.push(safe(() => get(baseline)));
    lines.push(`| ${cells.join(" | ")} |`);
  }
  const mi = doc.results.micro;
  if (mi && !mi.error) {
    lines.push("");
    lines.push("Pure-JS share of one session event (bench/micro.mjs: same code in Node, µs, best of 7):");
    lines.push("");
    lines.push(
      "| move: zod frame | engine.dispatch | 49 views + JSON | persisted snapshot JSON | D1 records | Twilio token | ticket verify | open: dispatch | open: views+records | open: 49 tokens |",
    );
    lines.push("|---|---|---|---|---|---|---|---|---|---|");
    lines.push(
      `| ${mi.zodClientMessage} | ${mi.engineDispatchMove} | ${mi.participantViewsAll} | ${mi.persistedSnapshotJson} | ${mi.recordsForMove} | ${mi.twilioTokenSign} | ${mi.ticketVerify} | ${mi.engineDispatchOpen} | ${mi.openViewsAndRecords} | ${mi.signTokensForOpen} |`,
    );
    const cpu = [
      doc.results.fanout?.workerdCpuMsPerOpen != null ? `openBreakouts ${f(doc.results.fanout.workerdCpuMsPerOpen)} ms` : null,
      doc.results.movesWindow16?.workerdCpuMsPerCommand != null ? `move ${f(doc.results.movesWindow16.workerdCpuMsPerCommand, 2)} ms` : null,
    ].filter(Boolean);
    if (cpu.length) lines.push(`\nworkerd CPU per event, all of it (session DO + D1 + sockets + runtime): ${cpu.join(", ")}.`);
  }
  lines.push("");
  const noisy = Object.entries(doc.noise ?? {}).map(([k, v]) => `${k} ${v.otherProcessesCores}`);
  if (noisy.length) lines.push(`Other processes on the machine during each bench (CPU cores busy, not ours): ${noisy.join(", ")}.`);
  const errors = Object.entries(doc.results).filter(([, v]) => v?.error);
  for (const [k, v] of errors) lines.push(`\n**${k} failed:** \`${String(v.error).split("\n")[0]}\``);
  lines.push("");
  return lines.join("\n");
}

function safe(fn) {
  try {
    const v = fn();
    return v === undefined || v === null ? "–" : v;
  } catch {
    return "–";
  }
}
