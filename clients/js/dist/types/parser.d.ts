/** One event as the stream carried it; type is "" when the block had none. */
export interface ParsedEvent {
    id: string;
    type: string;
    data: string;
    /** ssehub's "selectors" field (a stream asked with tag=selectors): the indices of the selectors the event matched, space-separated. */
    selectors?: string;
}
/**
 * Parser turns decoded text chunks into events. Feed it strings (decode
 * the bytes with a streaming TextDecoder, which also drops the BOM).
 */
export declare class Parser {
    private onEvent;
    /** The last event ID string: committed at each block's end, kept across blocks. */
    lastEventId: string;
    /** The reconnection time in milliseconds the stream last set, or -1. */
    retry: number;
    private buf;
    private cr;
    private data;
    private type;
    private sel?;
    private id;
    constructor(onEvent: (ev: ParsedEvent) => void, lastEventId?: string);
    /** feed parses the next chunk of the stream's text. */
    feed(s: string): void;
    private line;
    private dispatch;
}
