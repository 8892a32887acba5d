import { Group } from "./shared.js";
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
    retry?: {
        initial?: number;
        max?: number;
    };
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
export declare class HubError extends Error {
    readonly status: number;
    /** The request field the hub named as wrong, if any. */
    field: string;
    /** A 429's or 503's Retry-After, in ms (0 for none). */
    retryAfter: number;
    constructor(message: string, status?: number);
}
/** Hub is a connection to an ssehub (or any Mercure hub). */
export declare class Hub {
    /** @internal */ readonly url: URL;
    /** @internal */ readonly opts: HubOptions;
    /** @internal the groups of tabs this hub's subscriptions share streams with, by key */
    readonly groups: Map<string, Group>;
    constructor(opts?: HubOptions);
    /** subscribe streams the updates of topics (topic selectors) until close(). */
    subscribe(topics: string | string[], opts?: SubscribeOptions): Subscription;
    /** publish sends an update and resolves to its id. */
    publish(u: Update): Promise<string>;
    /** @internal headers are the request headers, with a fresh token. */
    headers(): Promise<Record<string, string>>;
    /** @internal */
    request(url: URL, init: RequestInit): Promise<Response>;
}
/** @internal errorOf makes the HubError of a refused request, with the hub's JSON message and field. */
export declare function errorOf(res: Response, text?: string): Promise<HubError>;
/** Options of a Stream: a subscription's, and tag (ask the hub to name the selectors each event matched). @internal */
export interface StreamOptions extends SubscribeOptions {
    tag?: boolean;
    onEvent?(ev: HubEvent & {
        selectors?: string;
    }): void;
}
/** Stream is one subscription: its fetch loop, from connecting to closed. @internal */
export declare class Stream implements Subscription {
    private hub;
    private topics;
    private o;
    lastEventID: string;
    private closed;
    private abort?;
    private wake?;
    private retryMs;
    private state?;
    constructor(hub: Hub, topics: string[], o: StreamOptions);
    close(): void;
    /** status tells onStatus of a change of state, once. */
    private status;
    private run;
    private fail;
    private connect;
    /** read delivers a stream's events until it ends. */
    private read;
    private deliver;
    private sleep;
}
