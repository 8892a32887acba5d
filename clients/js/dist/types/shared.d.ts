import { type Hub, type Status, type SubscribeOptions, type Subscription } from "./hub.js";
type Ev = {
    id: string;
    type: string;
    data: string;
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
/** Group is this tab's part in the stream its tabs share with one hub. @internal */
export declare class Group {
    private hub;
    private key;
    private groups;
    private tab;
    private lastID;
    private state?;
    private union;
    private subs;
    private all;
    private bc;
    private stop;
    private stream?;
    private release?;
    private plan?;
    private gen;
    private ended;
    constructor(hub: Hub, key: string, groups: Map<string, Group>);
    subscribe(topics: string[], o: SubscribeOptions): Subscription;
    /** @internal drop forgets a closed subscription; the last one ends the group. */
    drop(s: SharedSub): void;
    private announce;
    /** lead runs the stream while this tab holds the lock: until the group ends. */
    private lead;
    private leading;
    /** replan opens the stream again, soon, when the union of the topics changed. */
    private replan;
    private restart;
    /**
     * prune forgets the subscriptions of tabs that are gone: their lock is
     * neither held nor asked for. A tab's lock request and its announcement
     * travel apart, so announcements of the last seconds are kept.
     */
    private prune;
    private post;
    /** emit posts what the leader's stream says, and applies it here too. */
    private emit;
    private receive;
}
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
