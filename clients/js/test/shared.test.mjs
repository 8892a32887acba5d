// Sharing one stream among tabs (shared: true), in one Node process: Node's
// BroadcastChannel delivers between instances as a browser's does between
// tabs, and a fake navigator.locks grants each lock to one holder at a time,
// in order, as Web Locks do.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Hub } from "../dist/ssehub.js";

// fakeLocks grants a named lock to one callback at a time, the others
// waiting in order; an aborted waiter leaves the queue.
function fakeLocks() {
  const queues = new Map();
  return {
    request(name, { signal }, cb) {
      return new Promise((resolve, reject) => {
        const q = queues.get(name) ?? [];
        queues.set(name, q);
        const entry = {
          async run() {
            try {
              resolve(await cb());
            } catch (e) {
              reject(e);
            } finally {
              q.shift();
              q[0]?.run();
            }
          },
        };
        signal.addEventListener("abort", () => {
          const i = q.indexOf(entry);
          if (i > 0) q.splice(i, 1), reject(new DOMException("aborted", "AbortError"));
        });
        q.push(entry);
        if (q.length === 1) entry.run();
      });
    },
  };
}
globalThis.navigator = { locks: fakeLocks() };

// fakeFetch answers the n-th request with streams[n]: its chunks, then it
// stays open until aborted. It records each request's URL and headers.
function fakeFetch(streams) {
  const calls = [];
  const f = async (url, init) => {
    calls.push({ url: new URL(url), headers: { ...init.headers } });
    const chunks = streams[Math.min(calls.length - 1, streams.length - 1)];
    const body = new ReadableStream({
      start(c) {
        for (const s of chunks) c.enqueue(new TextEncoder().encode(s));
        init.signal?.addEventListener("abort", () => c.error(new DOMException("aborted", "AbortError")));
      },
    });
    return new Response(body, { headers: { "Content-Type": "text/event-stream", "Last-Event-ID": "earliest" } });
  };
  return { f, calls };
}

// tab subscribes with its own Hub (as a tab would) and collects what it sees.
function tab(f, topics, hubOpts = {}) {
  const seen = { ids: [], statuses: [] };
  const hub = new Hub({ url: "http://hub.test/.well-known/mercure", fetch: f, ...hubOpts });
  const sub = hub.subscribe(topics, {
    onEvent: (ev) => seen.ids.push(ev.id + "=" + ev.data),
    onStatus: (s) => seen.statuses.push(s),
  });
  return { sub, seen };
}

const until = async (pred, ms = 3000) => {
  for (const end = Date.now() + ms; !pred(); ) {
    if (Date.now() > end) throw new Error("timeout");
    await new Promise((r) => setTimeout(r, 5));
  }
};
const ev = (id, data = id) => `id: ${id}\ndata: ${data}\n\n`;

test("tabs subscribing alike share one stream; each gets every event once, in order", async () => {
  const { f, calls } = fakeFetch([[ev("e1"), ev("e2")]]);
  const a = tab(f, ["chat", "books/{id}"]);
  await until(() => a.seen.ids.length === 2);
  const b = tab(f, ["books/{id}", "chat"], { headers: {} });
  await until(() => b.seen.statuses.includes("open"));
  assert.equal(calls.length, 1, "one stream");
  assert.deepEqual(a.seen.ids, ["e1=e1", "e2=e2"]);
  assert.deepEqual(b.seen.ids, [], "a tab joining gets what comes after");
  a.sub.close();
  b.sub.close();
  assert.deepEqual(b.seen.statuses, ["connecting", "open", "closed"]);
});

test("the next tab takes over from its last id, and drops what it had", async () => {
  const { f, calls } = fakeFetch([[ev("e1"), ev("e2")], [ev("e2", "again"), ev("e3")]]);
  const a = tab(f, ["t"]);
  const b = tab(f, ["t"]);
  const c = tab(f, ["t"]);
  await until(() => b.seen.ids.length === 2 && c.seen.ids.length === 2);
  a.sub.close();
  await until(() => b.seen.ids.length === 3 && c.seen.ids.length === 3);
  assert.equal(calls.length, 2);
  assert.equal(calls[1].headers["Last-Event-ID"], "e2");
  for (const t of [b, c]) assert.deepEqual(t.seen.ids, ["e1=e1", "e2=e2", "e3=e3"]);
  assert.deepEqual(a.seen.ids, ["e1=e1", "e2=e2"]);
  assert.deepEqual(b.seen.statuses, ["connecting", "open", "reconnecting", "open"]);
  b.sub.close();
  c.sub.close();
});

test("different topics, tokens or shared: false get streams of their own", async () => {
  const { f, calls } = fakeFetch([[ev("x")]]);
  const tabs = [
    tab(f, ["one"]),
    tab(f, ["two"]),
    tab(f, ["one"], { token: "another" }),
    tab(f, ["one"], { shared: false }),
    tab(f, ["one"]), // shares the first
  ];
  await until(() => tabs.every((t) => t.seen.ids.length === 1));
  assert.equal(calls.length, 4);
  assert.deepEqual(calls.map((c) => c.url.searchParams.getAll("topic").join()).sort(), ["one", "one", "one", "two"]);
  assert.equal(calls[2].headers.Authorization, "Bearer another");
  for (const t of tabs) t.sub.close();
});

test("a subscription given lastEventID resumes on a stream of its own", async () => {
  const { f, calls } = fakeFetch([[ev("y")]]);
  const a = tab(f, ["r"]);
  await until(() => a.seen.ids.length === 1);
  const hub = new Hub({ url: "http://hub.test/.well-known/mercure", fetch: f });
  const got = [];
  const sub = hub.subscribe("r", { lastEventID: "old", onEvent: (e) => got.push(e.id) });
  await until(() => got.length === 1);
  assert.equal(calls.length, 2);
  assert.equal(calls[1].headers["Last-Event-ID"], "old");
  sub.close();
  a.sub.close();
});

test("a refusal reaches every tab, and closes them all", async () => {
  let n = 0;
  const f = async () => (n++, new Response(JSON.stringify({ error: "bad token" }), { status: 401 }));
  const watchTab = () => {
    const seen = { statuses: [], errors: [] };
    const hub = new Hub({ url: "http://hub.test/.well-known/mercure", fetch: f, token: "t" });
    hub.subscribe("private", { onStatus: (s) => seen.statuses.push(s), onError: (e) => seen.errors.push(e.status + " " + e.message) });
    return seen;
  };
  const a = watchTab();
  const b = watchTab();
  await until(() => a.statuses.includes("closed") && b.statuses.includes("closed"));
  // A tab may get the lock before it reads the refusal: it asks once too.
  assert.ok(n <= 2, n + " requests");
  for (const s of [a, b]) {
    assert.deepEqual(s.statuses, ["connecting", "closed"]);
    assert.ok(s.errors.length >= 1 && s.errors.every((e) => e === "401 401 bad token"), s.errors.join());
  }
});
