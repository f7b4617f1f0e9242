/**
 * HTTP helpers for the attendance record, session plans and recurring groups (worker/routes/reports.ts, plans.ts,
 * groups.ts). Same typed errors as lib/api.ts.
 */
import type { AttendanceRecord } from "../../../lib/attendance";
import { ApiError, enc, request } from "./api";

export type { AttendanceRecord };

/** A CSV download as a Blob, or the server's typed error. */
async function csv(path: string, token: string): Promise<Blob> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { Authorization: `Bearer ${token}`, Accept: "text/csv" } });
  } catch (e) {
    throw new ApiError("NETWORK", "Could not reach the server. Check your connection and try again.", 0, String(e));
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as { error?: { code?: ApiError["code"]; message?: string } } | null;
    throw new ApiError(body?.error?.code ?? "HTTP", body?.error?.message ?? `Request failed (${res.status})`, res.status);
  }
  return res.blob();
}

/** Save a Blob as a file through a temporary link. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const recordsApi = {
  /** Staff ticket (or the creator's / an operator's user token), like the report. */
  attendance: (sessionId: string, token: string) => request<AttendanceRecord>("GET", `/api/sessions/${enc(sessionId)}/attendance`, { token }),
  attendanceCsv: (sessionId: string, token: string) => csv(`/api/sessions/${enc(sessionId)}/attendance.csv`, token),
};
