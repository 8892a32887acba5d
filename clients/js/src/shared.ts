// One stream per browser: the tabs of an origin that subscribe to one hub
// alike (URL, credentials, headers, token) share one stream of the union
// of their topics. The tab holding a Web Lock named after the hub opens it
// with tag=selectors, so that the hub names the selectors each event
// matched, and posts every event with those topics on a BroadcastChannel
// of the same name; each tab hands an event to its own subscriptions of
// those topics. Tabs announce their subscriptions on the channel; when the
// union changes, the stream is opened again for the new one, resuming
// after the last event (Last-Event-ID). When the leading tab goes, the lock
// passes to a waiting tab, which asks every tab for its subscriptions and
// resumes likewise; every subscription drops ids it already delivered, so
// none is lost or repeated.

import { HubError, Stream, type Hub, type HubEvent, type Status, type SubscribeOptions, type Subscription } from "./hub.js";

type Ev = { id: string; type: string; data: string };

/** What tabs post: subscriptions (sub, unsub, who asks for them all), and the leader's events, statuses, gaps, errors. */
type Message =
  | { t: "sub"; tab: string; sid: string; topics: string[] }
  | { t: "unsub"; sid: string }
  | { t: "who" }
  | { t: "ev"; ev: Ev; sel?: string[] }
  | { t: "st"; s: Status; id: string; u: string[] }
  | { t: "gap"; g: { lastEventID: string; resumedAfter: string } }
  | { t: "err"; m: string; c: number };

/** The Web Locks API, as much as is used. */
interface Locks {
  request(name: string, opts: { signal: AbortSignal }, cb: () => Promise<void> | void): Promise<void>;
  query?(): Promise<{ held?: { name?: string }[]; pending?: { name?: string }[] }>;
}

const locks = (): Locks | undefined => (globalThis as { navigator?: { locks?: Locks } }).navigator?.locks;
const rnd = () => Math.random().toString(36).slice(2);

/**
 * sharedKey names the group of tabs a subscription would share a stream
 * with, or is "" when it must have its own: shared is off, the context has
 * no Web Locks or BroadcastChannel, or a lastEventID is given (a stream
 * already running would not replay from it). The same hub URL, credentials
 * mode, headers and token (a string as is; all token functions count as
 * one, giving the same rights in every tab) share a stream.
 * @internal
 */
export function sharedKey(hub: Hub, o: SubscribeOptions): string {
  const { shared = true, token, headers = {}, withCredentials } = hub.opts;
  if (!shared || o.lastEventID !== undefined || !locks() || typeof BroadcastChannel != "function") return "";
  const tok = typeof token == "function" ? 1 : token ?? "";
  return "ssehub " + JSON.stringify([hub.url.href, !!withCredentials, Object.entries(headers).sort(), tok]);
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

/** Group is this tab's part in the stream its tabs share with one hub. @internal */
export class Group {
  private tab = rnd();
  private lastID = ""; // the id to resume after: the last event the stream delivered
  private state?: Status;
  private union: string[] = []; // the topics of the stream, as its leader opened it
  private subs = new Map<string, SharedSub>(); // this tab's
  private all = new Map<string, { tab: string; topics: string[]; at: number }>(); // every tab's, as announced, and when
  private bc: BroadcastChannel;
  private stop = new AbortController(); // the lock requests
  private stream?: Stream;
  private release?: () => void;
  private plan?: ReturnType<typeof setTimeout>;
  private gen = 0; // which stream the leader's callbacks are of
  private ended = false;

  constructor(private hub: Hub, private key: string, private groups: Map<string, Group>) {
    this.bc = new BroadcastChannel(key);
    this.bc.onmessage = (m) => this.receive(m.data as Message);
  }

  subscribe(topics: string[], o: SubscribeOptions): Subscription {
    const s = new SharedSub(this, [...new Set(topics)], o);
    this.subs.set(s.sid, s);
    if (this.subs.size == 1) {
      // The tab's lock says it lives (asked for before it is announced, so
      // that a leader pruning finds it); then the lock of the leader.
      const l = locks()!;
      const { signal } = this.stop;
      const held = () => new Promise<void>((r) => signal.addEventListener("abort", () => r()));
      l.request(this.key + " tab " + this.tab, { signal }, held).catch(() => {});
      l.request(this.key, { signal }, () => this.lead()).catch(() => {});
    }
    this.announce(s);
    if (this.state) s.status(this.state, this.union);
    return s;
  }

  /** @internal drop forgets a closed subscription; the last one ends the group. */
  drop(s: SharedSub): void {
    this.subs.delete(s.sid);
    this.all.delete(s.sid);
    this.post({ t: "unsub", sid: s.sid });
    if (this.subs.size) return this.replan();
    this.groups.delete(this.key);
    this.ended = true;
    clearTimeout(this.plan);
    this.gen++; // its closing is no news for the others: one of them takes over
    this.stop.abort();
    this.stream?.close();
    this.release?.();
    this.bc.close();
  }

  private announce(s: SharedSub): void {
    const m: Message = { t: "sub", tab: this.tab, sid: s.sid, topics: s.topics };
    this.post(m);
    this.receive(m);
  }

  /** lead runs the stream while this tab holds the lock: until the group ends. */
  private lead(): Promise<void> | void {
    if (!this.subs.size) return;
    this.post({ t: "who" });
    return new Promise((resolve) => {
      this.release = resolve;
      this.replan(30); // the answers to who, first
    });
  }

  private leading(): boolean {
    return !!this.release;
  }

  /** replan opens the stream again, soon, when the union of the topics changed. */
  private replan(wait = 5): void {
    if (!this.leading()) return;
    clearTimeout(this.plan);
    this.plan = setTimeout(() => void this.restart(), wait);
  }

  private async restart(): Promise<void> {
    await this.prune();
    const union = [...new Set([...this.all.values()].flatMap((s) => s.topics))].sort();
    if (this.ended || !this.leading() || (this.stream && union.join("\n") == this.union.join("\n"))) return;
    const id = this.stream?.lastEventID || this.lastID;
    const takeover = !this.stream; // else a new union: the tabs' streams go on
    const gen = ++this.gen;
    this.stream?.close();
    this.union = union;
    this.stream = new Stream(this.hub, union, {
      lastEventID: id,
      tag: true,
      onEvent: (ev) => {
        const { id, type, data } = ev;
        const sel = ev.selectors?.split(" ").map((i) => union[+i]);
        this.emit({ t: "ev", ev: { id, type, data }, sel });
      },
      onStatus: (st) => {
        if (this.gen !== gen) return;
        if (st == "connecting" && this.state) {
          if (!takeover) return;
          st = "reconnecting";
        }
        this.emit({ t: "st", s: st, id: this.stream?.lastEventID || this.lastID, u: union });
      },
      onGap: (g) => this.emit({ t: "gap", g }),
      onError: (e) => this.emit({ t: "err", m: e.message, c: e.status }),
    });
  }

  /**
   * prune forgets the subscriptions of tabs that are gone: their lock is
   * neither held nor asked for. A tab's lock request and its announcement
   * travel apart, so announcements of the last seconds are kept.
   */
  private async prune(): Promise<void> {
    const q = await locks()?.query?.().catch(() => undefined);
    if (!q?.held) return;
    const live = new Set([...q.held, ...(q.pending ?? [])].map((h) => h.name));
    const old = Date.now() - 5000;
    for (const [sid, s] of this.all) if (s.at < old && !live.has(this.key + " tab " + s.tab)) this.all.delete(sid);
  }

  private post(m: Message): void {
    if (!this.ended) this.bc.postMessage(m);
  }

  /** emit posts what the leader's stream says, and applies it here too. */
  private emit(m: Message): void {
    this.post(m);
    this.receive(m);
  }

  private receive(m: Message): void {
    switch (m.t) {
      case "sub":
        this.all.set(m.sid, { ...m, at: Date.now() });
        if (this.leading() && this.state && m.topics.every((t) => this.union.includes(t)))
          this.post({ t: "st", s: this.state, id: this.lastID, u: this.union });
        return this.replan();
      case "unsub":
        this.all.delete(m.sid);
        return this.replan();
      case "who":
        for (const s of this.subs.values()) this.announce(s);
        return;
      case "ev":
        this.lastID = m.ev.id;
        for (const s of this.subs.values()) if (!m.sel || s.topics.some((t) => m.sel!.includes(t))) s.event(m.ev);
        return;
      case "st":
        if (m.id) this.lastID = m.id;
        this.state = m.s;
        this.union = m.u;
        for (const s of [...this.subs.values()]) s.status(m.s, m.u);
        return;
      case "gap":
        for (const s of this.subs.values()) s.o.onGap?.(m.g);
        return;
      case "err":
        for (const s of this.subs.values()) s.o.onError?.(new HubError(m.m, m.c));
    }
  }
}

/** SharedSub is one subscription of a tab to its group's stream. @internal */
export class SharedSub implements Subscription {
  lastEventID = "";
  readonly sid = rnd();
  private closed = false;
  private state?: Status;
  private seen = new Recent();

  constructor(private g: Group, readonly topics: string[], readonly o: SubscribeOptions) {
    this.setState("connecting");
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.g.drop(this);
    this.setState("closed");
  }

  /** status follows the stream's, but is "open" only once the stream holds all its topics. */
  status(s: Status, union: string[]): void {
    if (this.closed) return;
    if (s == "closed") return this.close();
    if (s != "open" || this.topics.every((t) => union.includes(t))) this.setState(s);
  }

  /** event delivers an event once: a stream opened again may send again what it had. */
  event(e: Ev): void {
    if (this.closed || !this.seen.add(e.id)) return;
    const { id, type, data } = e;
    this.lastEventID = id;
    this.o.onEvent?.({ id, type, data, json: () => JSON.parse(data) } as HubEvent);
  }

  private setState(s: Status): void {
    if (s === this.state) return;
    this.state = s;
    this.o.onStatus?.(s);
  }
}
