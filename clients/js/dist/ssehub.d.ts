// Type declarations of @ssehub/client (hand-written: keep in step with src/).

/** A token, or a function giving one: called before every connection, so short-lived tokens refresh. */
export type Token = string | (() => string | null | undefined | Promise<string | null | undefined>);

/** Options of a Hub. */
export interface HubOptions {
  /** The hub's endpoint; default "/.well-known/mercure", relative to the page. */
  url?: string | URL;
  /** Sent as "Authorization: Bearer <token>" on every request. */
  token?: Token;
  /** Extra request headers, on every request. */
  headers?: Record<string, string>;
  /** Send cookies to another origin too (fetch's credentials: "include"). */
  withCredentials?: boolean;
  /** Reconnection: the first delay in ms when the server set no retry: (1000), and the longest (30000). */
  retry?: { initial?: number; max?: number };
  /** The fetch to use; default globalThis.fetch. */
  fetch?: typeof fetch;
  /**
   * Share one stream among the tabs of the origin whose subscriptions make the same request
   * (URL, headers, token, credentials and topic selectors): default true where Web Locks and
   * BroadcastChannel exist; false gives every subscription its own stream.
   */
  shared?: boolean;
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
  /** A failed attempt (err.status is the HTTP status, 0 for a network error); fatal ones are followed by "closed". */
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
  /** The request field the hub named as wrong, if any ("" otherwise). */
  field: string;
  /** A 429's or 503's Retry-After, in ms (0 for none). */
  retryAfter: number;
  constructor(message: string, status?: number);
}

/** Hub is a connection to an ssehub (or any Mercure hub). */
export declare class Hub {
  constructor(opts?: HubOptions);
  /** subscribe streams the updates of topics (topic selectors) until close(). */
  subscribe(topics: string | string[], opts?: SubscribeOptions): Subscription;
  /** publish sends an update and resolves to its id; rejects with a HubError when refused. */
  publish(u: Update): Promise<string>;
  /** generate starts a generation (POST /llm/generations on the hub's origin); read its text chunks with for await. */
  generate(req: GenerateRequest, opts?: GenerateOptions): Generation;
  /** resumeGeneration reads a generation by id: the text so far as one chunk, then the rest, once. */
  resumeGeneration(id: string, opts?: GenerateOptions): Generation;
  /** stopGeneration stops a generation (POST …/stop); its readers end with reason "stopped". */
  stopGeneration(id: string): Promise<void>;
}

/** A message of the conversation. */
export interface Message {
  role: string;
  content: string;
}

/** What to generate: the body of POST /llm/generations. */
export interface GenerateRequest {
  messages: Message[];
  model?: string;
  max_tokens?: number;
  [key: string]: unknown;
}

/** Options of Hub.generate and Hub.resumeGeneration. */
export interface GenerateOptions {
  /** Stops reading (not the generation: see Hub.stopGeneration); the iteration throws its reason. */
  signal?: AbortSignal;
  /** Called once the generation's id is known, before its first chunk: store it to resume. */
  onStart?(id: string): void;
}

/** Token counts of a finished generation. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** A generation failed: its error event's message and kind ("timeout", "upstream", "interrupted", …). */
export declare class GenerationError extends HubError {
  readonly kind: string;
  constructor(message: string, kind?: string);
}

/**
 * Generation is one answer being read: an async iterable of its text chunks, read once.
 * A refused start or subscription rejects with a HubError, an error event with a GenerationError.
 */
export declare class Generation implements AsyncIterable<string> {
  /** The generation's id ("" until the hub answered). */
  readonly id: string;
  /** The text read so far. */
  readonly text: string;
  /** Why it ended: "stop", "length" or "stopped"; "" until it ended. */
  readonly reason: string;
  /** Token counts, once it ended. */
  readonly usage?: Usage;
  /** Made by Hub.generate and Hub.resumeGeneration. */
  private constructor();
  [Symbol.asyncIterator](): AsyncGenerator<string>;
}

/** One event as the stream carried it; type is "" when the block had none. */
export interface ParsedEvent {
  id: string;
  type: string;
  data: string;
}

/** Parser turns decoded text chunks of an event stream into events (WHATWG rules). */
export declare class Parser {
  /** The last event ID string: committed at each block's end, kept across blocks. */
  lastEventId: string;
  /** The reconnection time in milliseconds the stream last set, or -1. */
  retry: number;
  constructor(onEvent: (ev: ParsedEvent) => void, lastEventId?: string);
  /** feed parses the next chunk of the stream's text (decode bytes with a streaming TextDecoder). */
  feed(s: string): void;
}

/** The wait in ms before reconnection attempt `attempt`: base·2^attempt capped at max, jittered, at least retryAfter. */
export declare function retryDelay(attempt: number, base: number, max: number, retryAfter?: number, random?: () => number): number;

/** A Retry-After header (seconds or an HTTP date) as milliseconds from now; 0 when absent or unreadable. */
export declare function parseRetryAfter(v: string | null, now?: number): number;
