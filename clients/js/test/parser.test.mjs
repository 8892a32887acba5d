// The parser against the hub's own SSE test vectors (internal/sse/parser_test.go),
// fed whole, a byte at a time, in halves and split after every CR.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Parser } from "../dist/ssehub.js";

// bytes encodes s as the Go test's string literal: \xNN escapes are single
// bytes, other characters UTF-8.
function bytes(s) {
  const out = [];
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (c <= 0xff) out.push(c);
    else out.push(...new TextEncoder().encode(ch));
  }
  return Uint8Array.from(out);
}

const ways = {
  whole: (b) => [b],
  "one byte": (b) => [...b].map((x) => Uint8Array.of(x)),
  half: (b) => [b.subarray(0, b.length >> 1), b.subarray(b.length >> 1)],
  "split CR": (b) => {
    const parts = [];
    let start = 0;
    b.forEach((x, i) => {
      if (x === 13) parts.push(b.subarray(start, i + 1)), (start = i + 1);
    });
    return [...parts, b.subarray(start)];
  },
};

function parse(chunks) {
  const evs = [];
  const p = new Parser((ev) => evs.push(ev));
  const dec = new TextDecoder();
  for (const c of chunks) p.feed(dec.decode(c, { stream: true }));
  p.feed(dec.decode());
  return { evs, p };
}

const E = (data, extra = {}) => ({ id: "", type: "", data, ...extra });
const spec2 = ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n";
const BIG = -2; // retry beyond every integer: clamped by the Go parser, huge here

// [name, input, events, last event id, retry (0: none)]
const vectors = [
  ["spec stock ticker", "data: YHOO\ndata: +2\ndata: 10\n\n", [E("YHOO\n+2\n10")], "", 0],
  ["spec ids and comment", spec2 + "\n", [E("first event", { id: "1" }), E("second event"), E(" third event")], "", 0],
  ["spec last block needs blank line", spec2, [E("first event", { id: "1" }), E("second event")], "", 0],
  ["spec data without colon", "data\n\ndata\ndata\n\ndata:", [E(""), E("\n")], "", 0],
  ["spec space after colon", "data:test\n\ndata: test\n\n", [E("test"), E("test")], "", 0],
  ["spec typed events", "event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n",
    [E("73857293", { type: "add" }), E("2153", { type: "remove" }), E("113411", { type: "add" })], "", 0],
  ["BOM skipped", "\xEF\xBB\xBFdata: x\n\n", [E("x")], "", 0],
  ["BOM skipped only once", "\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\ndata: y\n\n", [E("y")], "", 0],
  ["BOM only at start", "data: x\n\n\xEF\xBB\xBFdata: y\n\n", [E("x")], "", 0],
  ["BOM in value kept", "data: \xEF\xBB\xBFy\n\n", [E("\uFEFFy")], "", 0],
  ["BOM alone on first line", "\xEF\xBB\xBF\ndata: x\n\n", [E("x")], "", 0],
  ["partial BOM", "\xEF\xBBdata: x\n\n", [], "", 0],
  ["CRLF", "data: a\r\ndata: b\r\n\r\n", [E("a\nb")], "", 0],
  ["CR", "data: a\rdata: b\r\r", [E("a\nb")], "", 0],
  ["mixed endings", "data: a\r\ndata: b\rdata: c\n\r\n", [E("a\nb\nc")], "", 0],
  ["LF CR is two lines", "data: a\n\rdata: b\n\n", [E("a"), E("b")], "", 0],
  ["CR at end of stream", "data: a\n\r", [E("a")], "", 0],
  ["CRLF CRLF dispatches once", "data: a\r\n\r\n\r\n", [E("a")], "", 0],
  ["comment", ": hello\ndata: x\n\n", [E("x")], "", 0],
  ["comment one space stripped", ":  two\n:x\n::y\ndata\n\n", [E("")], "", 0],
  ["heartbeat comment discarded", ": ping\n\ndata: x\n\n", [E("x")], "", 0],
  ["comment only, no event", ":\n\n:\n\n", [], "", 0],
  ["no space after colon", "data:x\n\n", [E("x")], "", 0],
  ["two spaces", "data:  x\n\n", [E(" x")], "", 0],
  ["tab not stripped", "data:\tx\n\n", [E("\tx")], "", 0],
  ["trailing space kept", "data: x \n\n", [E("x ")], "", 0],
  ["colon in value", "data: a:b\nevent: c: d\n\n", [E("a:b", { type: "c: d" })], "", 0],
  ["space before colon", "data : x\ndata\n\n", [E("")], "", 0],
  ["names are case-sensitive", "DATA: x\nData: y\n\n", [], "", 0],
  ["unknown fields ignored", "foo: bar\nfoo\ndata: x\n\n", [E("x")], "", 0],
  ["empty data line", "data:\n\n", [E("")], "", 0],
  ["two empty data lines", "data:\ndata:\n\n", [E("\n")], "", 0],
  ["NUL in data", "data: a\x00b\n\n", [E("a\x00b")], "", 0],
  ["type reset after dispatch", "event: add\ndata: 1\n\ndata: 2\n\n", [E("1", { type: "add" }), E("2")], "", 0],
  ["last type wins", "event: a\nevent: b\ndata\n\n", [E("", { type: "b" })], "", 0],
  ["type reset without data", "event: x\n\ndata: y\n\n", [E("y")], "", 0],
  ["bare event resets type", "event: x\nevent\ndata: y\n\n", [E("y")], "", 0],
  ["id persists", "id: 1\ndata: a\n\ndata: b\n\n", [E("a", { id: "1" }), E("b", { id: "1" })], "1", 0],
  ["empty id resets", "id: 1\ndata: a\n\nid:\ndata: b\n\n", [E("a", { id: "1" }), E("b")], "", 0],
  ["id with NUL ignored", "id: 1\ndata: a\n\nid: 2\x00\ndata: b\n\n", [E("a", { id: "1" }), E("b", { id: "1" })], "1", 0],
  ["id set by block without data", "id: 7\n\ndata: x\n\n", [E("x", { id: "7" })], "7", 0],
  ["id committed without data", "id: 7\n\n", [], "7", 0],
  ["id not committed at EOF", "data: x\n\nid: 9\ndata: y\n", [E("x")], "", 0],
  ["id after data in block", "data: x\nid: 3\n\n", [E("x", { id: "3" })], "3", 0],
  ["retry", "retry: 1000\ndata: x\n\n", [E("x")], "", 1000],
  ["retry alone", "retry: 500\n\ndata: x\n\n", [E("x")], "", 500],
  ["retry leading zeros", "retry: 0042\ndata\n\n", [E("")], "", 42],
  ["retry zero", "retry: 5\n\nretry: 0\ndata\n\n", [E("")], "", 0],
  ["retry not digits", "retry: 10a\nretry: -1\nretry: 1.5\nretry: +1\ndata\n\n", [E("")], "", 0],
  ["retry empty", "retry: 7\n\nretry:\nretry: \nretry\ndata\n\n", [E("")], "", 7],
  ["retry extra space", "retry:  5\ndata\n\n", [E("")], "", 0],
  ["retry non-ASCII digit", "retry: \u0663\ndata\n\n", [E("")], "", 0],
  ["retry overflow", "retry: 99999999999999999999999\ndata\n\n", [E("")], "", BIG],
  ["retry in undispatched event", "retry: 9\ndata: x\n", [], "", 9],
  ["invalid byte", "data: \xff\n\n", [E("\uFFFD")], "", 0],
  ["truncated sequence", "data: a\xE2\x82b\n\n", [E("a\uFFFDb")], "", 0],
  ["truncated before line end", "data: \xE2\x82\r\n\n", [E("\uFFFD")], "", 0],
  ["invalid in name", "\xffdata: x\ndat\xff: y\n\n", [], "", 0],
  ["invalid in id", "id: \xC0\xAF\ndata\n\n", [E("", { id: "\uFFFD\uFFFD" })], "\uFFFD\uFFFD", 0],
  ["empty stream", "", [], "", 0],
  ["no blank line", "data: x", [], "", 0],
  ["no blank line after LF", "data: x\n", [], "", 0],
];

for (const [name, input, want, lastID, retry] of vectors) {
  test(name, () => {
    for (const [how, split] of Object.entries(ways)) {
      const { evs, p } = parse(split(bytes(input)));
      assert.deepEqual(evs, want, how);
      assert.equal(p.lastEventId, lastID, how + ": lastEventId");
      if (retry === BIG) assert.ok(p.retry >= Number.MAX_SAFE_INTEGER, how + ": retry");
      else assert.equal(Math.max(p.retry, 0), retry, how + ": retry");
    }
  });
}

test("a CRLF split between chunks is one line end", () => {
  const evs = [];
  const p = new Parser((ev) => evs.push(ev));
  for (const c of ["data: a\r", "", "\ndata: b\r", "\n\r", "\n"]) p.feed(c);
  assert.deepEqual(evs, [E("a\nb")]);
});

test("the last event id given carries into a new stream", () => {
  const evs = [];
  const p = new Parser((ev) => evs.push(ev), "urn:x:1");
  p.feed("data: a\n\n");
  assert.deepEqual(evs, [E("a", { id: "urn:x:1" })]);
});
