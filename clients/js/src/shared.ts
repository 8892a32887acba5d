// One stream per browser: the tabs of an origin whose subscriptions would
// open the same stream share one. The tab holding a Web Lock named after
// the stream opens it and posts every event, status, gap and error on a
// BroadcastChannel of the same name; the others listen. When the leader's
// subscription closes, or its tab goes, the lock passes to a waiting tab,
// which resumes after the last event it got (Last-Event-ID); every tab drops
// ids it has already delivered, so none is lost or repeated.

import { HubError, Stream, type Hub, type HubEvent, type Status, type SubscribeOptions, type Subscription } from "./hub.js";

/** What the leader posts: an event, a status (with the id it would resume after), a gap, an error. */
type Message =
  | { t: "hi" }
  | { t: "ev"; ev: { id: string; type: string; data: string } }
  | { t: "st"; s: Status; id: string }
  | { t: "gap"; g: { lastEventID: string; resumedAfter: string } }
  | { t: "err"; m: string; c: number };

/** The Web Locks API, as much as is used. */
interface Locks {
  request(name: string, opts: { signal: AbortSignal }, cb: () => Promise<void> | void): Promise<void>;
}

/**
 * sharedKey names the stream a subscription would open, or is "" when it
 * must have its own: shared is off, the context has no Web Locks or
 * BroadcastChannel, or a lastEventID is given (a stream already running
 * would not replay from it). Subscriptions share a stream only when it
 * is the very same request: hub URL, credentials mode, headers, token
 * (a string as is; all token functions count as one, giving the same
 * rights in every tab) and set of topic selectors.
 * @internal
 */
export function sharedKey(hub: Hub, topics: string[], o: SubscribeOptions): string {
  const { shared = true, token, headers = {}, withCredentials } = hub.opts;
  const g = globalThis as { navigator?: { locks?: Locks } };
  if (!shared || o.lastEventID !== undefined || !g.navigator?.locks || typeof BroadcastChannel != "function") return "";
  const tok = typeof token == "function" ? 1 : token ?? "";
  return "ssehub " + JSON.stringify([hub.url.href, !!withCredentials, Object.entries(headers).sort(), tok, [...new Set(topics)].sort()]);
}

/**
 * Recent remembers the last `max` ids delivered; add tells whether an id
 * is new (and remembers it). An empty id is always new.
 * @internal
 */
export class Recent {
  private ids = new Set<string>();
  constructor(private max = 4096) {}
  add(id: string): boolean {
    if (!id) return true;
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value as string);
    return true;
  }
}

/** SharedStream is one tab's subscription to a stream shared by the tabs. @internal */
export class SharedStream implements Subscription {
  lastEventID = "";
  private closed = false;
  private state?: Status;
  private seen = new Recent();
  private bc: BroadcastChannel;
  private stop = new AbortController(); // the lock request
  private leader?: Stream;
  private release?: () => void;

  constructor(hub: Hub, topics: string[], private o: SubscribeOptions, key: string) {
    this.bc = new BroadcastChannel(key);
    this.bc.onmessage = (m) => this.receive(m.data as Message);
    this.status("connecting");
    this.post({ t: "hi" });
    const locks = (globalThis as unknown as { navigator: { locks: Locks } }).navigator.locks;
    locks.request(key, { signal: this.stop.signal }, () => this.lead(hub, topics)).catch(() => {});
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort();
    this.leader?.close();
    this.release?.();
    this.bc.close();
    this.status("closed");
  }

  /** lead runs the stream while this tab holds the lock: until close. */
  private lead(hub: Hub, topics: string[]): Promise<void> | void {
    if (this.closed) return;
    return new Promise((resolve) => {
      this.release = resolve;
      this.leader = new Stream(hub, topics, {
        lastEventID: this.lastEventID,
        onEvent: (ev) => {
          const { id, type, data } = ev;
          this.post({ t: "ev", ev: { id, type, data } });
          this.event(ev);
        },
        onStatus: (st) => {
          if (this.closed) return;
          if (st == "connecting" && this.state != "connecting") st = "reconnecting"; // a takeover
          this.post({ t: "st", s: st, id: this.leader?.lastEventID ?? this.lastEventID });
          if (st == "closed") this.close(); // refused: the others are refused too
          else this.status(st);
        },
        onGap: (g) => {
          this.post({ t: "gap", g });
          this.o.onGap?.(g);
        },
        onError: (e) => {
          this.post({ t: "err", m: e.message, c: e.status });
          this.o.onError?.(e);
        },
      });
    });
  }

  private post(m: Message): void {
    if (!this.closed) this.bc.postMessage(m);
  }

  private receive(m: Message): void {
    if (this.closed) return;
    if (this.leader) {
      if (m.t == "hi" && this.state) this.post({ t: "st", s: this.state, id: this.lastEventID });
      return;
    }
    if (m.t == "ev") this.event(m.ev);
    else if (m.t == "gap") this.o.onGap?.(m.g);
    else if (m.t == "err") this.o.onError?.(new HubError(m.m, m.c));
    else if (m.t == "st") {
      if (!this.lastEventID) this.lastEventID = m.id; // take over from there, if it comes to that
      if (m.s == "closed") this.close();
      else this.status(m.s);
    }
  }

  /** event delivers an event once: a tab that took over may get again what it had. */
  private event(e: { id: string; type: string; data: string } | HubEvent): void {
    if (this.closed || !this.seen.add(e.id)) return;
    const { id, type, data } = e;
    this.lastEventID = id;
    this.o.onEvent?.({ id, type, data, json: () => JSON.parse(data) });
  }

  private status(s: Status): void {
    if (s !== this.state) {
      this.state = s;
      this.o.onStatus?.(s);
    }
  }
}
