import { Hub, type Status, type SubscribeOptions, type Subscription } from "./hub.js";
type Ev = {
    id: string;
    type: string;
    data: string;
};
/** What a tab's Hub is, for a worker to open the stream as the tab would (tok: a string token, or 1 for a token function). */
type Conf = {
    url: string;
    withCredentials?: boolean;
    headers?: Record<string, string>;
    tok: string | number;
    retry?: {
        initial?: number;
        max?: number;
    };
};
/**
 * What tabs and leaders say: subscriptions (sub, unsub; who asks for them
 * all), the stream's events, statuses, gaps and errors, and a worker's
 * question for a token (tok?) and its answer. A tab's message to a worker
 * carries its group's key and Conf.
 */
type Message = ({
    t: "sub";
    tab: string;
    sid: string;
    topics: string[];
} | {
    t: "unsub";
    sid: string;
} | {
    t: "who";
} | {
    t: "ev";
    ev: Ev;
    sel?: string[];
} | {
    t: "st";
    s: Status;
    id: string;
    u: string[];
} | {
    t: "gap";
    g: {
        lastEventID: string;
        resumedAfter: string;
    };
} | {
    t: "err";
    m: string;
    c: number;
} | {
    t: "tok?";
    n: number;
} | {
    t: "tok";
    n: number;
    v?: string | null;
}) & {
    key?: string;
    conf?: Conf;
};
/**
 * sharedKey names the group of tabs a subscription would share a stream
 * with, or is "" when it must have its own: shared is off, the context has
 * no Web Locks or BroadcastChannel, or a lastEventID is given (a stream
 * already running would not replay from it). The same hub URL, credentials
 * mode, headers and token (a string as is; all token functions count as
 * one, giving the same rights in every tab) share a stream.
 * @internal
 */
export declare function sharedKey(hub: Hub, o: SubscribeOptions): string;
/**
 * Recent remembers the last `max` ids delivered; add tells whether an id
 * is new (and remembers it). An empty id is always new.
 * @internal
 */
export declare class Recent {
    private max;
    private ids;
    constructor(max?: number);
    add(id: string): boolean;
}
/**
 * Leader knows a group's subscriptions and the stream's state from what it
 * is told (note), and, once started, runs the stream of their union,
 * sending its events, statuses, gaps and errors.
 * @internal
 */
export declare class Leader {
    private hub;
    private key;
    private send;
    lastID: string;
    state?: Status;
    union: string[];
    private all;
    private active;
    private stream?;
    private plan?;
    private gen;
    constructor(hub: Hub, key: string, send: (m: Message) => void);
    /** note takes in what the group says. */
    note(m: Message): void;
    /** start runs the stream, once the subscriptions asked for came in. */
    start(): void;
    /** end closes the stream without a word: another leader takes over. */
    end(): void;
    /** empty tells whether no subscription is left. */
    empty(): boolean;
    /** replan opens the stream again, soon, when the union of the topics changed. */
    private replan;
    private restart;
    /**
     * prune forgets the subscriptions of tabs that are gone: their lock is
     * neither held nor asked for. A tab's lock request and its announcement
     * travel apart, so announcements of the last seconds are kept.
     */
    private prune;
}
/** Group is this tab's part in the stream its tabs share with one hub. @internal */
export declare class Group {
    private hub;
    private key;
    private groups;
    private tab;
    private heard;
    private silence?;
    private state?;
    private union;
    private subs;
    private bc?;
    private port?;
    private leader?;
    private stop;
    private release?;
    constructor(hub: Hub, key: string, groups: Map<string, Group>);
    private on;
    /** tabLed has the tabs lead: a BroadcastChannel, and this tab's Leader. */
    private tabLed;
    /** fallBack turns to a leading tab when the worker could not start, or does not answer. */
    private fallBack;
    private requestLead;
    subscribe(topics: string[], o: SubscribeOptions): Subscription;
    /** @internal drop forgets a closed subscription; the last one ends the group. */
    drop(s: SharedSub): void;
    private announce;
    /** say tells the others, and this tab's leader. */
    private say;
    /** lead runs the stream while this tab holds the lock: until the group ends. */
    private lead;
    private post;
    private receive;
}
/**
 * serveWorker leads, in a SharedWorker, the streams of the tabs that
 * connect to it: a Leader for each group's key, started at its first
 * subscription and ended at its last; a token function is a question to
 * the tabs of the group, the newest first.
 * @internal
 */
export declare function serveWorker(scope: {
    onconnect: ((e: MessageEvent) => void) | null;
}): void;
/** SharedSub is one subscription of a tab to its group's stream. @internal */
export declare class SharedSub implements Subscription {
    private g;
    readonly topics: string[];
    readonly o: SubscribeOptions;
    lastEventID: string;
    readonly sid: string;
    private closed;
    private state?;
    private seen;
    constructor(g: Group, topics: string[], o: SubscribeOptions);
    close(): void;
    /** status follows the stream's, but is "open" only once the stream holds all its topics. */
    status(s: Status, union: string[]): void;
    /** event delivers an event once: a stream opened again may send again what it had. */
    event(e: Ev): void;
    private setState;
}
export {};
