/**
 * retryDelay is the wait in milliseconds before reconnection attempt
 * `attempt` (0 for the first after a drop): base·2^attempt capped at max,
 * of which a random half is kept (jitter, so clients cut at once do not
 * come back at once), and at least retryAfter.
 */
export declare function retryDelay(attempt: number, base: number, max: number, retryAfter?: number, random?: () => number): number;
/**
 * parseRetryAfter reads a Retry-After header (seconds, or an HTTP date)
 * as milliseconds from now; 0 when absent or unreadable.
 */
export declare function parseRetryAfter(v: string | null, now?: number): number;
