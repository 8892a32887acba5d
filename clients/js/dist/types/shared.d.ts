import { type Hub, type SubscribeOptions, type Subscription } from "./hub.js";
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
export declare function sharedKey(hub: Hub, topics: string[], o: SubscribeOptions): string;
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
/** SharedStream is one tab's subscription to a stream shared by the tabs. @internal */
export declare class SharedStream implements Subscription {
    private o;
    lastEventID: string;
    private closed;
    private state?;
    private seen;
    private bc;
    private stop;
    private leader?;
    private release?;
    constructor(hub: Hub, topics: string[], o: SubscribeOptions, key: string);
    close(): void;
    /** lead runs the stream while this tab holds the lock: until close. */
    private lead;
    private post;
    private receive;
    /** event delivers an event once: a tab that took over may get again what it had. */
    private event;
    private status;
}
