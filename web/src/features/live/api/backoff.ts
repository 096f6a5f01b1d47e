/** Reconnect delays: 1 s, doubling, at most 15 s. */
export function backoffDelay(attempt: number): number {
  return Math.min(15_000, 1_000 * 2 ** Math.max(0, attempt));
}
