/** Alert configuration and message shape (worker/alerts): thresholds from ALERT_THRESHOLDS, Slack's payload. */
import { describe, expect, it } from "vitest";
import { RULES, RULE_IDS, thresholdsFrom } from "../../worker/alerts/rules";
import { slackMessage } from "../../worker/alerts/webhook";

describe("ALERT_THRESHOLDS", () => {
  it("defaults, overrides, and a malformed value reported rather than used", () => {
    expect(thresholdsFrom(undefined).thresholds).toEqual(Object.fromEntries(RULE_IDS.map((id) => [id, RULES[id].threshold])));
    expect(thresholdsFrom('{"error_rate":20}').thresholds.error_rate).toBe(20);
    expect(thresholdsFrom('{"error_rate":20}').problem).toBeNull();
    const bad = thresholdsFrom('{"error_rate":-1,"nope":3}');
    expect(bad.thresholds.error_rate).toBe(RULES.error_rate.threshold);
    expect(bad.problem).toMatch(/ALERT_THRESHOLDS/);
    expect(thresholdsFrom("{not json").problem).toMatch(/not JSON/);
  });
});

describe("Slack message", () => {
  it("text for every client, blocks within Slack's limits, mrkdwn escaped, recovery with its duration", () => {
    const firing = slackMessage({
      rule: "orphan_media_rooms",
      kind: "firing",
      summary: "2 media room(s) <open> & billing",
      openedAt: Date.UTC(2026, 11, 1, 20, 0),
      appEnv: "production",
    });
    expect(firing.text).toBe("MindBloom Video (production) [WARNING] Orphan media rooms: 2 media room(s) <open> & billing");
    expect(firing.blocks[0]).toEqual({ type: "header", text: { type: "plain_text", text: "[WARNING] Orphan media rooms" } });
    expect(JSON.stringify(firing.blocks[1])).toContain("&lt;open&gt; &amp; billing");
    const resolved = slackMessage({
      rule: "error_rate",
      kind: "resolved",
      summary: "0 server error(s)",
      openedAt: Date.UTC(2026, 11, 1, 20, 0),
      resolvedAt: Date.UTC(2026, 11, 1, 20, 12),
      appEnv: "staging",
    });
    expect(resolved.text).toBe("MindBloom Video (staging) [RESOLVED] Server errors: 0 server error(s) after 12 min");
    expect(JSON.stringify(resolved.blocks[2])).toContain("resolved 2026-12-01T20:12:00Z");
  });
});
