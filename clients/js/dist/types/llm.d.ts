import { Hub, HubError } from "./hub.js";
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
export declare class GenerationError extends HubError {
    readonly kind: string;
    constructor(message: string, kind?: string);
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
export declare class Generation implements AsyncIterable<string> {
    private hub;
    private begin;
    private o;
    /** The generation's id ("" until the hub answered). */
    id: string;
    /** The text read so far. */
    text: string;
    /** Why it ended: "stop", "length" or "stopped"; "" until it ended. */
    reason: string;
    usage?: Usage;
    private it?;
    /** @internal */
    constructor(hub: Hub, begin: (g: Generation) => Promise<Snapshot>, o: GenerateOptions);
    [Symbol.asyncIterator](): AsyncGenerator<string>;
    private run;
    private add;
    private end;
}
/** generate starts a generation and returns it, to read with for await. */
export declare function generate(hub: Hub, req: GenerateRequest, o?: GenerateOptions): Generation;
/** resumeGeneration reads a generation again: the text so far in one chunk, then the rest. */
export declare function resumeGeneration(hub: Hub, id: string, o?: GenerateOptions): Generation;
/** stopGeneration asks the hub to stop a generation; its readers then end with reason "stopped". */
export declare function stopGeneration(hub: Hub, id: string): Promise<void>;
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
export {};
