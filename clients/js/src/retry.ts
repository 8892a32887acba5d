// When to try again: exponential backoff with jitter from the server's
// retry: (or the client's first delay), never sooner than Retry-After.

/** The longest delay setTimeout takes; longer ones fire at once. */
const maxTimeout = 2 ** 31 - 1;

/**
 * retryDelay is the wait in milliseconds before reconnection attempt
 * `attempt` (0 for the first after a drop): base·2^attempt capped at max,
 * of which a random half is kept (jitter, so clients cut at once do not
 * come back at once), and at least retryAfter.
 */
export function retryDelay(attempt: number, base: number, max: number, retryAfter = 0, random = Math.random): number {
  const d = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.min(maxTimeout, Math.max(retryAfter, d / 2 + (random() * d) / 2));
}

/**
 * parseRetryAfter reads a Retry-After header (seconds, or an HTTP date)
 * as milliseconds from now; 0 when absent or unreadable.
 */
export function parseRetryAfter(v: string | null, now = Date.now()): number {
  if (!v) return 0;
  if (/^\s*[0-9]+\s*$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? 0 : Math.max(0, t - now);
}
