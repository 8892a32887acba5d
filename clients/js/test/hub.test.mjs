// The Hub's connection logic against a fake fetch: backoff, Retry-After,
// gap detection, token refresh, stopping on 401, resuming.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Hub, retryDelay, parseRetryAfter } from "../dist/ssehub.js";

// fakeFetch answers each request with the next of answers: a status, the
// response headers and the stream's chunks (the stream stays open when
// open is set, until aborted). It records every request.
function fakeFetch(answers) {
  const calls = [];
  const f = async (url, init) => {
    calls.push({ url: String(url), headers: { ...init.headers }, at: Date.now() });
    const a = answers[Math.min(calls.length - 1, answers.length - 1)];
    const body = new ReadableStream({
      start(c) {
        for (const chunk of a.chunks ?? []) c.enqueue(new TextEncoder().encode(chunk));
        if (!a.open) c.close();
        init.signal?.addEventListener("abort", () => c.error(new DOMException("aborted", "AbortError")));
      },
    });
    const headers = { "Content-Type": a.status === 200 ? "text/event-stream" : "application/json", ...a.headers };
    return new Response(a.status === 200 ? body : JSON.stringify({ error: "nope" }), { status: a.status, headers });
  };
  return { f, calls };
}

// watch subscribes and collects what the callbacks see; until(pred) waits
// for a state.
function watch(hub, topics, opts = {}) {
  const seen = { events: [], statuses: [], gaps: [], errors: [] };
  let wake = () => {};
  const note = () => wake();
  const sub = hub.subscribe(topics, {
    ...opts,
    onEvent: (ev) => (seen.events.push(ev), note()),
    onStatus: (s) => (seen.statuses.push(s), note()),
    onGap: (g) => (seen.gaps.push(g), note()),
    onError: (e) => (seen.errors.push(e), note()),
  });
  const until = (pred, ms = 5000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("timeout: " + JSON.stringify(seen))), ms);
      const check = () => pred(seen) && (clearTimeout(timer), resolve(seen));
      wake = check;
      check();
    });
  return { sub, seen, until };
}

const url = "http://hub.test/.well-known/mercure";

test("retryDelay: exponential, capped, jittered, at least Retry-After", () => {
  assert.equal(retryDelay(0, 1000, 30000, 0, () => 0), 500);
  assert.equal(retryDelay(0, 1000, 30000, 0, () => 1), 1000);
  assert.equal(retryDelay(3, 1000, 30000, 0, () => 1), 8000);
  assert.equal(retryDelay(10, 1000, 30000, 0, () => 1), 30000);
  assert.equal(retryDelay(100, 1000, 30000, 0, () => 0), 15000);
  assert.equal(retryDelay(0, 1000, 30000, 7000, () => 1), 7000);
  assert.equal(retryDelay(0, 1e20, 1e20, 0, () => 1), 2 ** 31 - 1);
  for (let i = 0; i < 100; i++) {
    const d = retryDelay(2, 1000, 30000);
    assert.ok(d >= 2000 && d <= 4000, String(d));
  }
});

test("parseRetryAfter: seconds and HTTP dates", () => {
  const now = Date.parse("Sun, 06 Dec 2026 18:00:00 GMT");
  assert.equal(parseRetryAfter(null), 0);
  assert.equal(parseRetryAfter("120"), 120000);
  assert.equal(parseRetryAfter("Sun, 06 Dec 2026 18:00:30 GMT", now), 30000);
  assert.equal(parseRetryAfter("Sun, 06 Dec 2026 17:00:00 GMT", now), 0);
  assert.equal(parseRetryAfter("soon"), 0);
});

test("events, topics in the query, Accept, status open", async () => {
  const { f, calls } = fakeFetch([{ status: 200, open: true, headers: { "Last-Event-ID": "earliest" },
    chunks: ["retry: 3000\n\nid: urn:1\nevent: note\ndata: {\"a\":", "1}\n\n"] }]);
  const w = watch(new Hub({ url, fetch: f }), ["a", "b/{id}"]);
  await w.until((s) => s.events.length === 1);
  const ev = w.seen.events[0];
  assert.deepEqual([ev.id, ev.type, ev.json()], ["urn:1", "note", { a: 1 }]);
  assert.equal(calls[0].url, url + "?topic=a&topic=b%2F%7Bid%7D");
  assert.equal(calls[0].headers.Accept, "text/event-stream");
  assert.equal(calls[0].headers["Last-Event-ID"], undefined);
  assert.equal(w.sub.lastEventID, "urn:1");
  w.sub.close();
  assert.deepEqual(w.seen.statuses, ["connecting", "open", "closed"]);
  assert.deepEqual(w.seen.gaps, []);
});

test("a stream that ends is resumed with Last-Event-ID after the server's retry", async () => {
  const { f, calls } = fakeFetch([
    { status: 200, chunks: ["retry: 20\n\nid: urn:1\ndata: x\n\n"] },
    { status: 200, open: true, headers: { "Last-Event-ID": "urn:1" }, chunks: ["id: urn:2\ndata: y\n\n"] },
  ]);
  const w = watch(new Hub({ url, fetch: f, retry: { initial: 5000 } }), "t");
  await w.until((s) => s.events.length === 2);
  assert.equal(calls[1].headers["Last-Event-ID"], "urn:1");
  assert.ok(calls[1].at - calls[0].at < 1000, "waited the server's retry, not the initial delay");
  assert.deepEqual(w.seen.gaps, []);
  assert.deepEqual(w.seen.statuses, ["connecting", "open", "reconnecting", "open"]);
  w.sub.close();
});

test("a gap: the hub resumed after earliest, not the id sent", async () => {
  const { f, calls } = fakeFetch([{ status: 200, open: true, headers: { "Last-Event-ID": "earliest" }, chunks: [] }]);
  const w = watch(new Hub({ url, fetch: f }), "t", { lastEventID: "urn:old" });
  await w.until((s) => s.gaps.length === 1);
  assert.equal(calls[0].headers["Last-Event-ID"], "urn:old");
  assert.deepEqual(w.seen.gaps, [{ lastEventID: "urn:old", resumedAfter: "earliest" }]);
  w.sub.close();
});

test("no gap when asking for earliest; the hub's id is kept when none was sent", async () => {
  for (const [sent, header, last] of [["earliest", "earliest", "earliest"], [undefined, "urn:9", "urn:9"]]) {
    const { f } = fakeFetch([{ status: 200, open: true, headers: { "Last-Event-ID": header } }]);
    const w = watch(new Hub({ url, fetch: f }), "t", { lastEventID: sent });
    await w.until((s) => s.statuses.includes("open"));
    assert.deepEqual(w.seen.gaps, []);
    assert.equal(w.sub.lastEventID, last);
    w.sub.close();
  }
});

test("5xx and 429 are retried, honouring Retry-After", async () => {
  const { f, calls } = fakeFetch([
    { status: 503 },
    { status: 429, headers: { "Retry-After": "1" } },
    { status: 200, open: true, chunks: ["data: ok\n\n"] },
  ]);
  const w = watch(new Hub({ url, fetch: f, retry: { initial: 10, max: 50 } }), "t");
  await w.until((s) => s.events.length === 1);
  assert.deepEqual(w.seen.errors.map((e) => e.status), [503, 429]);
  assert.ok(calls[1].at - calls[0].at < 500);
  assert.ok(calls[2].at - calls[1].at >= 990, "Retry-After: 1 waited");
  assert.deepEqual(w.seen.statuses, ["connecting", "reconnecting", "open"], "each state told once");
  w.sub.close();
});

test("network errors are retried", async () => {
  let n = 0;
  const { f } = fakeFetch([{ status: 200, open: true, chunks: ["data: ok\n\n"] }]);
  const flaky = (u, i) => (++n < 3 ? Promise.reject(new TypeError("fetch failed")) : f(u, i));
  const w = watch(new Hub({ url, fetch: flaky, retry: { initial: 5, max: 20 } }), "t");
  await w.until((s) => s.events.length === 1);
  assert.equal(w.seen.errors.length, 2);
  w.sub.close();
});

test("a 401 asks the token function again, once", async () => {
  let n = 0;
  const token = async () => "tok" + ++n;
  const { f, calls } = fakeFetch([{ status: 401 }, { status: 200, open: true, chunks: ["data: ok\n\n"] }]);
  const w = watch(new Hub({ url, fetch: f, token }), "t");
  await w.until((s) => s.events.length === 1);
  assert.deepEqual(calls.map((c) => c.headers.Authorization), ["Bearer tok1", "Bearer tok2"]);
  w.sub.close();
});

test("a 401 again, or with a fixed token, stops the subscription", async () => {
  let n = 0;
  for (const token of ["fixed", () => "tok" + ++n]) {
    const { f, calls } = fakeFetch([{ status: 401 }]);
    const w = watch(new Hub({ url, fetch: f, token, retry: { initial: 1 } }), "t");
    await w.until((s) => s.statuses.includes("closed"));
    assert.equal(calls.length, typeof token === "function" ? 2 : 1);
    assert.equal(w.seen.errors.at(-1).status, 401);
    assert.equal(w.seen.errors.at(-1).message, "401 nope");
    assert.deepEqual(w.seen.statuses, ["connecting", "closed"]);
  }
});

test("a 403 and a 400 stop; the token refreshes before every reconnection", async () => {
  const { f } = fakeFetch([{ status: 400 }]);
  const w = watch(new Hub({ url, fetch: f }), "t");
  await w.until((s) => s.statuses.includes("closed"));
  assert.equal(w.seen.errors[0].status, 400);

  let n = 0;
  const r = fakeFetch([{ status: 200, chunks: ["retry: 1\n\n"] }, { status: 503 }, { status: 200, open: true }]);
  const w2 = watch(new Hub({ url, fetch: r.f, token: () => "t" + ++n, retry: { initial: 1 } }), "t");
  await w2.until(() => r.calls.length === 3);
  assert.deepEqual(r.calls.map((c) => c.headers.Authorization), ["Bearer t1", "Bearer t2", "Bearer t3"]);
  w2.sub.close();
});

test("close stops reconnecting", async () => {
  const { f, calls } = fakeFetch([{ status: 503 }]);
  const w = watch(new Hub({ url, fetch: f, retry: { initial: 50 } }), "t");
  await w.until((s) => s.statuses.includes("reconnecting"));
  w.sub.close();
  await new Promise((r) => setTimeout(r, 200)); // the backoff would have fired by now
  assert.equal(calls.length, 1);
  assert.deepEqual(w.seen.statuses, ["connecting", "reconnecting", "closed"]);
});

test("publish posts the form and answers the id; a refusal throws a HubError", async () => {
  const seen = [];
  const f = async (u, init) => {
    seen.push({ body: String(init.body), auth: init.headers.Authorization, method: init.method });
    return seen.length === 1 ? new Response("urn:ssehub:x:1") : new Response('{"error":"no topic","field":"topic"}', { status: 400 });
  };
  const hub = new Hub({ url, fetch: f, token: "pub" });
  const id = await hub.publish({ topic: ["a", "b"], data: "hi", type: "note", id: "x", private: true });
  assert.equal(id, "urn:ssehub:x:1");
  assert.deepEqual(seen[0], { body: "topic=a&topic=b&data=hi&type=note&id=x&private=on", auth: "Bearer pub", method: "POST" });
  await assert.rejects(hub.publish({ topic: "" }), { name: "HubError", status: 400, message: "400 no topic" });
});
