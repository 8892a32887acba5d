// Generations: ssehub's language model answers (POST /llm/generations),
// read as an async iterable of their text, resumed after a reload from the
// generation's snapshot and the events after it, and stopped.

import { Hub, HubError, errorOf, type HubEvent } from "./hub.js";

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

/** A generation failed: its error event's message and kind ("timeout", "upstream", …). */
export class GenerationError extends HubError {
  constructor(message: string, readonly kind = "") {
    super(message);
    this.name = "GenerationError";
  }
}

/** What a snapshot (GET /llm/generations/{id}) says. */
interface Snapshot {
  status?: string;
  text?: string;
  last_event_id?: string;
  finish_reason?: string;
  usage?: Usage;
  error?: string;
  kind?: string;
}

/**
 * Generation is one answer being read: an async iterable of its text chunks,
 * once. id is known once it started; text, reason and usage fill in as it goes.
 */
export class Generation implements AsyncIterable<string> {
  /** The generation's id ("" until the hub answered). */
  id = "";
  /** The text read so far. */
  text = "";
  /** Why it ended: "stop", "length" or "stopped"; "" until it ended. */
  reason = "";
  usage?: Usage;
  private it?: AsyncGenerator<string>;

  /** @internal */
  constructor(
    private hub: Hub,
    private begin: (g: Generation) => Promise<Snapshot>,
    private o: GenerateOptions,
  ) {}

  [Symbol.asyncIterator](): AsyncGenerator<string> {
    if (this.it) throw new HubError("a generation is read once");
    return (this.it = this.run());
  }

  private async *run(): AsyncGenerator<string> {
    const { signal } = this.o;
    signal?.throwIfAborted();
    const snap = await this.begin(this);
    this.o.onStart?.(this.id);
    signal?.throwIfAborted();
    if (snap.text) yield this.add(snap.text);
    if (snap.status === "done") return this.end(snap.finish_reason, snap.usage);
    if (snap.status === "error") throw new GenerationError(snap.error ?? "", snap.kind);

    const queue: (HubEvent | Error)[] = [];
    let wake = () => {};
    const put = (x: HubEvent | Error) => {
      queue.push(x);
      wake();
    };
    let last: Error = new HubError("closed");
    const abort = () => put(signal!.reason);
    signal?.addEventListener("abort", abort);
    const sub = this.hub.subscribe(topicOf(this.id), {
      lastEventID: snap.last_event_id || "earliest",
      onEvent: put,
      // Replayed from another point, the text would repeat or miss a part.
      onGap: () => put(new HubError("the hub's history no longer has this generation's events")),
      onError: (e) => (last = e),
      onStatus: (s) => s === "closed" && put(last),
    });
    try {
      for (;;) {
        while (!queue.length) await new Promise<void>((r) => (wake = r));
        const ev = queue.shift()!;
        if (ev instanceof Error) throw ev;
        const d = parse(ev.data);
        if (ev.type === "token" && typeof d.text === "string") {
          if (d.text) yield this.add(d.text);
        } else if (ev.type === "done") {
          return this.end(d.reason, d.usage);
        } else if (ev.type === "error") {
          throw new GenerationError(String(d.error ?? ev.data), String(d.kind ?? ""));
        }
      }
    } finally {
      signal?.removeEventListener("abort", abort);
      sub.close();
    }
  }

  private add(s: string): string {
    this.text += s;
    return s;
  }

  private end(reason = "", usage?: Usage): void {
    this.reason = String(reason);
    this.usage = usage;
  }
}

/** topicOf is the topic a generation publishes to. */
const topicOf = (id: string) => "llm/generations/" + id;

function parse(data: string): Record<string, any> {
  try {
    const v = JSON.parse(data);
    return v && typeof v === "object" ? v : {};
  } catch {
    return {};
  }
}

/** generationsURL is the hub's /llm/generations[/id[/stop]]: its endpoint's path with the last part replaced. */
function generationsURL(hub: Hub, id?: string, stop?: boolean): URL {
  const base = hub.url.pathname.replace(/(\.well-known\/mercure|events)\/?$/, "");
  const rest = id === undefined ? "" : "/" + encodeURIComponent(id) + (stop ? "/stop" : "");
  return new URL(base.replace(/\/?$/, "/") + "llm/generations" + rest, hub.url);
}

/** call makes a request of the generations API and resolves to its JSON answer. */
async function call(hub: Hub, url: URL, body?: unknown, signal?: AbortSignal): Promise<any> {
  const headers = await hub.headers();
  headers.Accept = "application/json";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const method = body !== undefined || url.pathname.endsWith("/stop") ? "POST" : "GET";
  const res = await hub.request(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  if (!res.ok) throw await errorOf(res);
  const text = await res.text();
  return text ? JSON.parse(text) : {};
}

/** generate starts a generation and returns it, to read with for await. */
export function generate(hub: Hub, req: GenerateRequest, o: GenerateOptions = {}): Generation {
  return new Generation(hub, async (g) => {
    const r = await call(hub, generationsURL(hub), req, o.signal);
    g.id = String(r.id);
    return {};
  }, o);
}

/** resumeGeneration reads a generation again: the text so far in one chunk, then the rest. */
export function resumeGeneration(hub: Hub, id: string, o: GenerateOptions = {}): Generation {
  return new Generation(hub, async (g) => {
    g.id = id;
    return call(hub, generationsURL(hub, id), undefined, o.signal);
  }, o);
}

/** stopGeneration asks the hub to stop a generation; its readers then end with reason "stopped". */
export async function stopGeneration(hub: Hub, id: string): Promise<void> {
  await call(hub, generationsURL(hub, id, true));
}

declare module "./hub.js" {
  interface Hub {
    /** generate starts a generation (POST /llm/generations); read its text chunks with for await. */
    generate(req: GenerateRequest, opts?: GenerateOptions): Generation;
    /** resumeGeneration reads a generation by id: the text so far as one chunk, then the rest. */
    resumeGeneration(id: string, opts?: GenerateOptions): Generation;
    /** stopGeneration stops a generation; its readers end with reason "stopped". */
    stopGeneration(id: string): Promise<void>;
  }
}

// The methods live here, not in hub.ts, so that hub.ts does not import this file.
Hub.prototype.generate = function (this: Hub, req: GenerateRequest, o?: GenerateOptions) {
  return generate(this, req, o);
};
Hub.prototype.resumeGeneration = function (this: Hub, id: string, o?: GenerateOptions) {
  return resumeGeneration(this, id, o);
};
Hub.prototype.stopGeneration = function (this: Hub, id: string) {
  return stopGeneration(this, id);
};
