// The event stream parser of the WHATWG HTML standard ("Server-sent
// events", §9.2.6), the same rules as the hub's internal/sse: lines end
// with CR, LF or CRLF (a CRLF may be split between two chunks), a leading
// byte order mark is dropped by the TextDecoder that feeds it, an id with
// NUL is ignored, data lines are joined with LF, retry takes ASCII digits
// only, and a block is dispatched only at its blank line.

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
export class Parser {
  /** The last event ID string: committed at each block's end, kept across blocks. */
  lastEventId: string;
  /** The reconnection time in milliseconds the stream last set, or -1. */
  retry = -1;
  private buf = "";
  private cr = false; // the last chunk ended with CR: skip a leading LF
  private data: string[] = [];
  private type = "";
  private sel?: string;
  private id: string;

  constructor(private onEvent: (ev: ParsedEvent) => void, lastEventId = "") {
    this.lastEventId = this.id = lastEventId;
  }

  /** feed parses the next chunk of the stream's text. */
  feed(s: string): void {
    if (!s) return;
    if (this.cr && s[0] === "\n") s = s.slice(1);
    this.cr = false;
    const eol = /\r\n?|\n/g;
    let start = 0;
    for (let m; (m = eol.exec(s)); start = eol.lastIndex) {
      if (m[0] === "\r" && eol.lastIndex === s.length) this.cr = true;
      const line = this.buf + s.slice(start, m.index);
      this.buf = "";
      this.line(line);
    }
    this.buf += s.slice(start);
  }

  private line(l: string): void {
    if (!l) return this.dispatch();
    const colon = l.indexOf(":");
    if (colon === 0) return; // a comment
    const name = colon < 0 ? l : l.slice(0, colon);
    let value = colon < 0 ? "" : l.slice(colon + 1);
    if (value[0] === " ") value = value.slice(1);
    if (name === "data") this.data.push(value);
    else if (name === "event") this.type = value;
    else if (name === "id") {
      if (!value.includes("\0")) this.id = value;
    } else if (name === "retry" && /^[0-9]+$/.test(value)) this.retry = Number(value);
    else if (name === "selectors") this.sel = value;
  }

  private dispatch(): void {
    this.lastEventId = this.id;
    const { data, type, sel } = this;
    this.data = [];
    this.type = "";
    this.sel = undefined;
    if (data.length) this.onEvent({ id: this.id, type, data: data.join("\n"), ...(sel === undefined ? {} : { selectors: sel }) });
  }
}
