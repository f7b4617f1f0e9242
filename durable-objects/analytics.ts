/**
 * Workers Analytics Engine data points for operators. No personal data: identities and session ids are hashed.
 * Layout (documented in docs/monitoring.md): index1 = hashed session id;
 * blobs = [event, hashed actor, target kind, detail]; doubles = [value, round, level].
 */
import type { Bindings } from "../worker/env";
import type { AnalyticsRecord } from "./logic/records";

/** Short, stable, non-reversible (FNV-1a 32-bit over a salt + value) hash for grouping without identifying. */
export function anonymise(value: string | null): string {
  if (value === null) return "";
  let h = 0x811c9dc5;
  const s = `mb:${value}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

function targetKind(target: string | null): string {
  if (target === null) return "";
  if (target === "main") return "main";
  if (/^r\d+$/.test(target)) return "room";
  if (/^m\d+$/.test(target)) return "member";
  return "other";
}

export function dataPointFor(sessionId: string, rec: AnalyticsRecord): AnalyticsEngineDataPoint {
  const d = (rec.data ?? {}) as Record<string, unknown>;
  const detail = typeof d.reason === "string" ? d.reason : typeof d.role === "string" ? d.role : typeof d.provider === "string" ? d.provider : "";
  return {
    indexes: [anonymise(sessionId)],
    blobs: [rec.event, anonymise(rec.actor), targetKind(rec.target), detail],
    doubles: [1, typeof d.round === "number" ? d.round : 0, typeof d.level === "number" ? d.level : typeof d.rooms === "number" ? d.rooms : 0],
  };
}

export function writeAnalytics(env: Bindings, sessionId: string, records: readonly AnalyticsRecord[]) {
  if (!env.ANALYTICS || !records.length) return;
  for (const r of records) {
    try {
      env.ANALYTICS.writeDataPoint(dataPointFor(sessionId, r));
    } catch {
      // Analytics must never break a session.
    }
  }
}
