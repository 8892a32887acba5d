// Hub: subscriptions streamed with fetch (so a token travels in the
// Authorization header), reconnected with backoff, resumed with
// Last-Event-ID, with lost history reported; and publishing.

import { Parser, type ParsedEvent } from "./parser.js";
import { parseRetryAfter, retryDelay } from "./retry.js";
import { Group, sharedKey } from "./shared.js";

/** A token, or a function giving one: called before every connection, so short-lived tokens refresh. */
export type Token = string | (() => string | null | undefined | Promise<string | null | undefined>);

/** Options of a Hub. */
export interface HubOptions {
  /** The hub's endpoint; default "/.well-known/mercure" (relative to the page). */
  url?: string | URL;
  token?: Token;
  /** Extra request headers, on every request. */
  headers?: Record<string, string>;
  /** Send cookies to another origin too (fetch's credentials: "include"). */
  withCredentials?: boolean;
  /** Reconnection: the first delay when the server set no retry:, and the longest, in ms. */
  retry?: { initial?: number; max?: number };
  /** The fetch to use; default globalThis.fetch. */
  fetch?: typeof fetch;
  /** Share one stream among the tabs of the origin that subscribe to this hub (default true where supported). */
  shared?: boolean;
  /**
   * The SharedWorker script that runs shared streams: default this module when it is a file of its own
   * (the hub's /ssehub.js), where the browser has SharedWorker; false for a leading tab instead.
   */
  worker?: string | URL | false;
}

/** One event received. */
export interface HubEvent {
  id: string;
  /** The event's type, "message" when it had none (as EventSource). */
  type: string;
  data: string;
  /** The data parsed as JSON. */
  json<T = unknown>(): T;
}

/** A subscription's state. */
export type Status = "connecting" | "open" | "reconnecting" | "closed";

/** What onGap is told: the id sent, and what the hub answered it resumed after ("earliest"). */
export interface GapInfo {
  lastEventID: string;
  resumedAfter: string;
}

/** Options of Hub.subscribe. */
export interface SubscribeOptions {
  /** Resume after this id; "earliest" replays the whole retained history. */
  lastEventID?: string;
  onEvent?(ev: HubEvent): void;
  onStatus?(status: Status): void;
  /** History no longer had what was missed: re-fetch the state. */
  onGap?(info: GapInfo): void;
  /** A failed attempt (err.status is the HTTP status, if any); fatal ones are followed by "closed". */
  onError?(err: HubError): void;
}

/** A subscription; close() ends it. */
export interface Subscription {
  close(): void;
  /** The id the subscription would resume after now. */
  readonly lastEventID: string;
}

/** An update to publish. */
export interface Update {
  topic: string | string[];
  data?: string;
  type?: string;
  id?: string;
  private?: boolean;
  retry?: number;
}

/** An error of the hub: its HTTP status (0 for none) and message. */
export class HubError extends Error {
  /** The request field the hub named as wrong, if any. */
  field = "";
  /** A 429's or 503's Retry-After, in ms (0 for none). */
  retryAfter = 0;
  constructor(message: string, readonly status = 0) {
    super(message);
    this.name = "HubError";
  }
}

/** Hub is a connection to an ssehub (or any Mercure hub). */
export class Hub {
  /** @internal */ readonly url: URL;
  /** @internal */ readonly opts: HubOptions;
  /** @internal the groups of tabs this hub's subscriptions share streams with, by key */
  readonly groups = new Map<string, Group>();

  constructor(opts: HubOptions = {}) {
    this.opts = opts;
    const base = (globalThis as { location?: { href: string } }).location?.href;
    this.url = new URL(opts.url ?? "/.well-known/mercure", base);
  }

  /** subscribe streams the updates of topics (topic selectors) until close(). */
  subscribe(topics: string | string[], opts: SubscribeOptions = {}): Subscription {
    const t = ([] as string[]).concat(topics);
    const key = sharedKey(this, opts);
    if (!key) return new Stream(this, t, opts);
    const g = this.groups.get(key) ?? new Group(this, key, this.groups);
    this.groups.set(key, g);
    return g.subscribe(t, opts);
  }

  /** publish sends an update and resolves to its id. */
  async publish(u: Update): Promise<string> {
    const body = new URLSearchParams();
    for (const t of ([] as string[]).concat(u.topic)) body.append("topic", t);
    if (u.data !== undefined) body.set("data", u.data);
    if (u.type) body.set("type", u.type);
    if (u.id) body.set("id", u.id);
    if (u.private) body.set("private", "on");
    if (u.retry !== undefined) body.set("retry", String(u.retry));
    const res = await this.request(this.url, { method: "POST", body, headers: await this.headers() });
    const text = await res.text();
    if (!res.ok) throw await errorOf(res, text);
    return text;
  }

  /** @internal headers are the request headers, with a fresh token. */
  async headers(): Promise<Record<string, string>> {
    const h: Record<string, string> = { ...this.opts.headers };
    const t = this.opts.token;
    const token = typeof t === "function" ? await t() : t;
    if (token) h.Authorization = "Bearer " + token;
    return h;
  }

  /** @internal */
  request(url: URL, init: RequestInit): Promise<Response> {
    const f = this.opts.fetch ?? fetch;
    return f(url, { credentials: this.opts.withCredentials ? "include" : "same-origin", cache: "no-store", ...init });
  }
}

/** @internal errorOf makes the HubError of a refused request, with the hub's JSON message and field. */
export async function errorOf(res: Response, text?: string): Promise<HubError> {
  try {
    text ??= await res.text();
  } catch {
    text = "";
  }
  let msg = text.trim().slice(0, 500);
  let field = "";
  try {
    ({ error: msg = msg, field = "" } = JSON.parse(text));
  } catch {
    // not JSON: the text itself
  }
  const err = new HubError(`${res.status} ${msg || res.statusText}`, res.status);
  err.field = String(field);
  err.retryAfter = parseRetryAfter(res.headers.get("Retry-After"));
  return err;
}

/** Options of a Stream: a subscription's, and tag (ask the hub to name the selectors each event matched). @internal */
export interface StreamOptions extends SubscribeOptions {
  tag?: boolean;
  onEvent?(ev: HubEvent & { selectors?: string }): void;
}

/** Stream is one subscription: its fetch loop, from connecting to closed. @internal */
export class Stream implements Subscription {
  lastEventID: string;
  private closed = false;
  private abort?: AbortController;
  private wake?: () => void;
  private retryMs = -1; // the server's retry:, -1 until it sends one
  private state?: Status;

  constructor(private hub: Hub, private topics: string[], private o: StreamOptions) {
    this.lastEventID = o.lastEventID ?? "";
    void this.run();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort?.abort();
    this.wake?.();
    this.status("closed");
  }

  /** status tells onStatus of a change of state, once. */
  private status(s: Status): void {
    if (s !== this.state) {
      this.state = s;
      this.o.onStatus?.(s);
    }
  }

  private async run(): Promise<void> {
    const { initial = 1000, max = 30000 } = this.hub.opts.retry ?? {};
    let attempt = 0;
    let refreshed = false; // a refused token was already asked for again
    this.status("connecting");
    while (!this.closed) {
      let retryAfter = 0;
      try {
        const res = await this.connect();
        if (this.closed) return;
        if (res.status === 401 || res.status === 403) {
          const err = await errorOf(res);
          if (typeof this.hub.opts.token === "function" && !refreshed) {
            refreshed = true; // ask the token function once more, at once
            this.o.onError?.(err);
            continue;
          }
          return this.fail(err);
        }
        if (res.status >= 500 || res.status === 429) {
          retryAfter = parseRetryAfter(res.headers.get("Retry-After"));
          this.o.onError?.(await errorOf(res));
        } else if (!res.ok || !/^text\/event-stream/i.test(res.headers.get("Content-Type") ?? "")) {
          return this.fail(res.ok ? new HubError(`${res.status} not an event stream`, res.status) : await errorOf(res));
        } else {
          attempt = 0;
          refreshed = false;
          await this.read(res);
          if (this.closed) return;
          this.o.onError?.(new HubError("stream ended"));
        }
      } catch (e) {
        if (this.closed) return;
        this.o.onError?.(new HubError(String((e as Error)?.message ?? e)));
      }
      this.status("reconnecting");
      const base = this.retryMs >= 0 ? this.retryMs : initial;
      await this.sleep(retryDelay(attempt++, base, Math.max(max, base), retryAfter));
    }
  }

  private fail(err: HubError): void {
    this.o.onError?.(err);
    this.close();
  }

  private async connect(): Promise<Response> {
    const url = new URL(this.hub.url);
    for (const t of this.topics) url.searchParams.append("topic", t);
    if (this.o.tag) url.searchParams.set("tag", "selectors");
    const headers = await this.hub.headers();
    headers.Accept = "text/event-stream";
    if (this.lastEventID) headers["Last-Event-ID"] = this.lastEventID;
    if (this.closed) throw new Error("closed");
    this.abort = new AbortController();
    return this.hub.request(url, { headers, signal: this.abort.signal });
  }

  /** read delivers a stream's events until it ends. */
  private async read(res: Response): Promise<void> {
    const sent = this.lastEventID;
    const resumed = res.headers.get("Last-Event-ID");
    if (resumed !== null && sent && sent !== "earliest" && resumed !== sent) {
      this.o.onGap?.({ lastEventID: sent, resumedAfter: resumed });
    } else if (resumed && !sent && resumed !== "earliest") {
      this.lastEventID = resumed; // resuming after it misses nothing this stream would get
    }
    this.status("open");
    if (!res.body) return;
    const parser = new Parser((ev) => this.deliver(parser, ev), this.lastEventID);
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || this.closed) break;
        parser.feed(dec.decode(value, { stream: true }));
        this.lastEventID = parser.lastEventId;
        if (parser.retry >= 0) this.retryMs = parser.retry;
      }
      parser.feed(dec.decode());
    } finally {
      reader.releaseLock();
    }
  }

  private deliver(p: Parser, ev: ParsedEvent): void {
    this.lastEventID = p.lastEventId;
    if (this.closed) return;
    const { id, data, selectors } = ev;
    this.o.onEvent?.({ id, type: ev.type || "message", data, json: () => JSON.parse(data), selectors });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}
