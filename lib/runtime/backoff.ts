/**
 * Exponential backoff: attempt n (1, 2, …) waits base × 2^n, capped at max; with `jitter`, a random share of it
 * (full jitter) so many clients retrying the same failure spread out.
 */
export function backoffMs(attempt: number, opts: { baseMs: number; maxMs: number; jitter?: boolean; random?: () => number }): number {
  const n = Math.max(0, Math.min(attempt, 30));
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** n);
  return opts.jitter ? Math.floor((opts.random ?? Math.random)() * ceiling) : ceiling;
}
