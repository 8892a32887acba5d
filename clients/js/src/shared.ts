// One stream per browser: the tabs of an origin that subscribe to one hub
// alike (URL, credentials, headers, token) share one stream of the union
// of their topics, opened with tag=selectors so that the hub names the
// selectors each event matched; each tab hands an event to its own
// subscriptions of those selectors. The stream is run by a Leader: in a
// SharedWorker where the browser has one and the module is served as a
// file of its own (/ssehub.js), else in the tab holding a Web Lock named
// after the hub, which posts on a BroadcastChannel of the same name. Tabs
// announce their subscriptions; when the union changes, the stream is
// opened again for the new one, resuming after the last event
// (Last-Event-ID). When a leading tab goes, the lock passes to a waiting
// tab, which asks every tab for its subscriptions and resumes likewise;
// every subscription drops ids it already delivered, so none is lost or
// repeated.

import { Hub, HubError, Stream, type HubEvent, type Status, type SubscribeOptions, type Subscription, type Token } from "./hub.js";

type Ev = { id: string; type: string; data: string };

/** What a tab's Hub is, for a worker to open the stream as the tab would (tok: a string token, or 1 for a token function). */
type Conf = { url: string; withCredentials?: boolean; headers?: Record<string, string>; tok: string | number; retry?: { initial?: number; max?: number } };

/**
 * What tabs and leaders say: subscriptions (sub, unsub; who asks for them
 * all), the stream's events, statuses, gaps and errors, and a worker's
 * question for a token (tok?) and its answer. A tab's message to a worker
 * carries its group's key and Conf.
 */
type Message = (
  | { t: "sub"; tab: string; sid: string; topics: string[] }
  | { t: "unsub"; sid: string }
  | { t: "who" }
  | { t: "ev"; ev: Ev; sel?: string[] }
  | { t: "st"; s: Status; id: string; u: string[] }
  | { t: "gap"; g: { lastEventID: string; resumedAfter: string } }
  | { t: "err"; m: string; c: number }
  | { t: "tok?"; n: number }
  | { t: "tok"; n: number; v?: string | null }
) & { key?: string; conf?: Conf };

/** The Web Locks API, as much as is used. */
interface Locks {
  request(name: string, opts: { signal: AbortSignal }, cb: () => Promise<void> | void): Promise<void>;
  query?(): Promise<{ held?: { name?: string }[]; pending?: { name?: string }[] }>;
}

/** The package's version, set by the build: tabs and workers of different versions never share a stream. */
declare const __VERSION__: string;
const tag = "ssehub " + (typeof __VERSION__ == "string" ? __VERSION__ : "dev");

const g = globalThis as unknown as { navigator?: { locks?: Locks }; SharedWorker?: typeof SharedWorker; location?: Location };
const locks = () => g.navigator?.locks;
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
  const { shared = true } = hub.opts;
  if (!shared || o.lastEventID !== undefined || !locks() || typeof BroadcastChannel != "function") return "";
  return tag + " " + JSON.stringify(conf(hub));
}

function conf(hub: Hub): Conf {
  const { token, headers = {}, withCredentials, retry } = hub.opts;
  return { url: hub.url.href, withCredentials: !!withCredentials, headers: Object.fromEntries(Object.entries(headers).sort()), tok: typeof token == "function" ? 1 : token ?? "", retry };
}

/** workerURL is the script of the SharedWorker to lead the tabs' streams, or undefined for a leading tab. */
function workerURL(hub: Hub): URL | undefined {
  const w = hub.opts.worker;
  if (w === false || hub.opts.fetch || typeof g.SharedWorker != "function") return; // a fetch of the page's cannot go to a worker
  if (w) return new URL(w, g.location?.href);
  const self = import.meta.url; // this module: a worker of its own only as a file of its own
  return /\/ssehub(\.min)?\.js(\?.*)?$/.test(self) ? new URL(self) : undefined;
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

/**
 * Leader knows a group's subscriptions and the stream's state from what it
 * is told (note), and, once started, runs the stream of their union,
 * sending its events, statuses, gaps and errors.
 * @internal
 */
export class Leader {
  lastID = ""; // the id to resume after: the last event the stream delivered
  state?: Status;
  union: string[] = []; // the topics of the stream, as its leader opened it
  private all = new Map<string, { tab: string; topics: string[]; at: number }>(); // every tab's, as announced, and when
  private active = false;
  private stream?: Stream;
  private plan?: ReturnType<typeof setTimeout>;
  private gen = 0; // which stream the callbacks are of

  constructor(private hub: Hub, private key: string, private send: (m: Message) => void) {}

  /** note takes in what the group says. */
  note(m: Message): void {
    switch (m.t) {
      case "sub":
        this.all.set(m.sid, { ...m, at: Date.now() });
        if (this.active && this.state && m.topics.every((t) => this.union.includes(t))) this.send({ t: "st", s: this.state, id: this.lastID, u: this.union });
        return this.replan();
      case "unsub":
        this.all.delete(m.sid);
        return this.replan();
      case "ev":
        this.lastID = m.ev.id;
        return;
      case "st":
        if (m.id) this.lastID = m.id;
        this.state = m.s;
        this.union = m.u;
    }
  }

  /** start runs the stream, once the subscriptions asked for came in. */
  start(): void {
    this.active = true;
    this.replan(30);
  }

  /** end closes the stream without a word: another leader takes over. */
  end(): void {
    this.active = false;
    clearTimeout(this.plan);
    this.gen++;
    this.stream?.close();
  }

  /** empty tells whether no subscription is left. */
  empty(): boolean {
    return !this.all.size;
  }

  /** replan opens the stream again, soon, when the union of the topics changed. */
  private replan(wait = 5): void {
    if (!this.active) return;
    clearTimeout(this.plan);
    this.plan = setTimeout(() => void this.restart(), wait);
  }

  private async restart(): Promise<void> {
    await this.prune();
    const union = [...new Set([...this.all.values()].flatMap((s) => s.topics))].sort();
    if (!this.active || !union.length || (this.stream && union.join("\n") == this.union.join("\n"))) return;
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
        this.send({ t: "ev", ev: { id, type, data }, sel });
      },
      onStatus: (st) => {
        if (this.gen !== gen) return;
        if (st == "connecting" && this.state) {
          if (!takeover) return;
          st = "reconnecting";
        }
        this.send({ t: "st", s: st, id: this.stream?.lastEventID || this.lastID, u: union });
      },
      onGap: (g) => this.send({ t: "gap", g }),
      onError: (e) => this.send({ t: "err", m: e.message, c: e.status }),
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
}

/** workerSilence is how long a worker may leave a tab's first subscription unanswered (it answers with the stream's status at once) before the tab leads without it. */
const workerSilence = 5000;

/** Group is this tab's part in the stream its tabs share with one hub. @internal */
export class Group {
  private tab = rnd();
  private heard = false; // the worker answered
  private silence?: ReturnType<typeof setTimeout>;
  private state?: Status;
  private union: string[] = [];
  private subs = new Map<string, SharedSub>(); // this tab's
  private bc?: BroadcastChannel;
  private port?: MessagePort; // to the SharedWorker that leads
  private leader?: Leader; // without a worker: knows, and leads while this tab holds the lock
  private stop = new AbortController(); // the lock requests
  private release?: () => void;

  constructor(private hub: Hub, private key: string, private groups: Map<string, Group>) {
    const w = workerURL(hub);
    if (w) {
      try {
        const sw = new SharedWorker(w, { type: "module", name: tag }); // a new version, a new worker
        sw.onerror = () => this.fallBack(); // not loaded: blocked, missing, not a module worker
        this.port = sw.port;
        this.port.onmessage = (m) => {
          this.heard = true;
          clearTimeout(this.silence);
          this.on(m);
        };
      } catch {
        // refused at once (a content security policy): a tab leads
      }
    }
    if (!this.port) this.tabLed();
  }

  private on = (m: MessageEvent) => this.receive(m.data as Message);

  /** tabLed has the tabs lead: a BroadcastChannel, and this tab's Leader. */
  private tabLed(): void {
    this.bc = new BroadcastChannel(this.key);
    this.bc.onmessage = this.on;
    this.leader = new Leader(this.hub, this.key, (m) => {
      this.post(m);
      this.receive(m);
    });
  }

  /** fallBack turns to a leading tab when the worker could not start, or does not answer. */
  private fallBack(): void {
    clearTimeout(this.silence);
    if (!this.port) return;
    this.port.close();
    this.port = undefined;
    this.tabLed();
    if (!this.subs.size) return;
    this.requestLead();
    for (const s of this.subs.values()) this.announce(s);
  }

  private requestLead(): void {
    locks()!.request(this.key, { signal: this.stop.signal }, () => this.lead()).catch(() => {});
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
      if (this.leader) this.requestLead();
    }
    this.announce(s);
    // A worker that neither fails nor answers (a browser that attached
    // this tab to a worker which failed to load for another) is given up.
    if (this.port && !this.heard && this.silence === undefined) this.silence = setTimeout(() => this.fallBack(), workerSilence);
    if (this.state) s.status(this.state, this.union);
    return s;
  }

  /** @internal drop forgets a closed subscription; the last one ends the group. */
  drop(s: SharedSub): void {
    this.subs.delete(s.sid);
    this.say({ t: "unsub", sid: s.sid });
    if (this.subs.size) return;
    this.groups.delete(this.key);
    clearTimeout(this.silence);
    this.leader?.end(); // its closing is no news for the others: one of them takes over
    this.stop.abort();
    this.release?.();
    this.bc?.close();
    this.port?.close();
    this.port = this.bc = undefined;
  }

  private announce(s: SharedSub): void {
    this.say({ t: "sub", tab: this.tab, sid: s.sid, topics: s.topics });
  }

  /** say tells the others, and this tab's leader. */
  private say(m: Message): void {
    this.post(m);
    this.leader?.note(m);
  }

  /** lead runs the stream while this tab holds the lock: until the group ends. */
  private lead(): Promise<void> | void {
    if (!this.subs.size) return;
    this.post({ t: "who" });
    return new Promise((resolve) => {
      this.release = resolve;
      this.leader!.start(); // the answers to who, first
    });
  }

  private post(m: Message): void {
    if (this.port) this.port.postMessage({ ...m, key: this.key, conf: conf(this.hub) });
    else this.bc?.postMessage(m);
  }

  private receive(m: Message): void {
    this.leader?.note(m);
    switch (m.t) {
      case "who":
        for (const s of this.subs.values()) this.announce(s);
        return;
      case "ev":
        for (const s of this.subs.values()) if (!m.sel || s.topics.some((t) => m.sel!.includes(t))) s.event(m.ev);
        return;
      case "st":
        this.state = m.s;
        this.union = m.u;
        for (const s of [...this.subs.values()]) s.status(m.s, m.u);
        return;
      case "gap":
        for (const s of this.subs.values()) s.o.onGap?.(m.g);
        return;
      case "err":
        for (const s of this.subs.values()) s.o.onError?.(new HubError(m.m, m.c));
        return;
      case "tok?": {
        const t = this.hub.opts.token;
        Promise.resolve(typeof t == "function" ? t() : t).then((v) => this.post({ t: "tok", n: m.n, v }), () => this.post({ t: "tok", n: m.n }));
      }
    }
  }
}

/**
 * serveWorker leads, in a SharedWorker, the streams of the tabs that
 * connect to it: a Leader for each group's key, started at its first
 * subscription and ended at its last; a token function is a question to
 * the tabs of the group, the newest first.
 * @internal
 */
export function serveWorker(scope: { onconnect: ((e: MessageEvent) => void) | null }): void {
  const groups = new Map<string, { leader: Leader; ports: MessagePort[] }>();
  const asked = new Map<number, (v?: string | null) => void>();
  let n = 0;
  const ask = (ports: MessagePort[]): Promise<string | null | undefined> => {
    const to = ports.at(-1);
    return new Promise((resolve) => {
      const q = ++n;
      const t = setTimeout(() => (asked.delete(q), resolve(undefined)), 5000);
      asked.set(q, (v) => (clearTimeout(t), asked.delete(q), resolve(v)));
      to?.postMessage({ t: "tok?", n: q });
    });
  };
  scope.onconnect = (e) => {
    const port = e.ports[0];
    port.onmessage = ({ data: m }: MessageEvent<Message>) => {
      if (m.t == "tok") return asked.get(m.n)?.(m.v);
      const key = m.key!;
      let grp = groups.get(key);
      if (!grp) {
        if (m.t != "sub") return;
        const { url, withCredentials, headers, tok, retry } = m.conf!;
        const ports: MessagePort[] = [];
        const token: Token = tok === 1 ? () => ask(ports) : String(tok);
        const hub = new Hub({ url, withCredentials, headers, token, retry, shared: false });
        const leader = new Leader(hub, key, (out) => {
          for (const p of ports) p.postMessage(out);
          leader.note(out);
        });
        groups.set(key, (grp = { leader, ports }));
        leader.start();
      }
      if (!grp.ports.includes(port)) grp.ports.push(port);
      grp.leader.note(m);
      if (grp.leader.empty()) {
        grp.leader.end();
        groups.delete(key);
      }
    };
  };
}

/** SharedSub is one subscription of a tab to its group's stream. @internal */
export class SharedSub implements Subscription {
  lastEventID = "";
  readonly sid = rnd();
  private closed = false;
  private state?: Status;
  private seen = new Recent();

  constructor(
    private g: Group,
    readonly topics: string[],
    readonly o: SubscribeOptions,
  ) {
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
