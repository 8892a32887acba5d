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

// fakeHub is a hub in memory: publish(topic, id) logs an event and sends
// it to the open streams with that topic (exact selectors), with the
// "selectors:" line of tag=selectors; a stream with Last-Event-ID first
// gets what the log holds after it. It records each request.
function fakeHub() {
  const log = [];
  const open = new Set();
  const calls = [];
  const send = (s, e) => {
    const idx = s.topics.flatMap((t, i) => (t === e.topic ? [i] : []));
    if (idx.length) s.c.enqueue(new TextEncoder().encode(`id: ${e.id}\ndata: ${e.id}\n${s.tag ? `selectors: ${idx.join(" ")}\n` : ""}\n`));
  };
  const f = async (url, init) => {
    url = new URL(url);
    const s = { topics: url.searchParams.getAll("topic"), tag: url.searchParams.get("tag") === "selectors" };
    const last = init.headers["Last-Event-ID"];
    calls.push({ url, headers: { ...init.headers }, topics: s.topics });
    const body = new ReadableStream({
      start(c) {
        s.c = c;
        if (last) for (const e of log.slice(log.findIndex((e) => e.id === last) + 1)) send(s, e);
        open.add(s);
        init.signal?.addEventListener("abort", () => {
          open.delete(s);
          c.error(new DOMException("aborted", "AbortError"));
        });
      },
    });
    const head = last || log.at(-1)?.id || "earliest";
    return new Response(body, { headers: { "Content-Type": "text/event-stream", "Last-Event-ID": head } });
  };
  const publish = (topic, id) => {
    const e = { id, topic };
    log.push(e);
    for (const s of open) send(s, e);
  };
  return { f, calls, open, publish };
}

// tab subscribes with its own Hub (as a tab would) and collects what it sees.
function tab(f, topics, hubOpts = {}) {
  const seen = { ids: [], statuses: [] };
  const hub = new Hub({ url: "http://hub.test/.well-known/mercure", fetch: f, ...hubOpts });
  const sub = hub.subscribe(topics, {
    onEvent: (ev) => seen.ids.push(ev.data),
    onStatus: (s) => seen.statuses.push(s),
  });
  return { sub, seen, hub };
}

const until = async (pred, ms = 3000) => {
  for (const end = Date.now() + ms; !pred(); ) {
    if (Date.now() > end) throw new Error("timeout");
    await new Promise((r) => setTimeout(r, 5));
  }
};
const open = (...tabs) => until(() => tabs.every((t) => t.seen.statuses.at(-1) === "open"));

test("tabs with different topics share one stream of their union; each gets its own topics' events once, in order", async () => {
  const h = fakeHub();
  const a = tab(h.f, ["chat"]);
  const b = tab(h.f, ["books/1", "chat", "chat"]);
  const c = tab(h.f, ["news"]);
  await open(a, b, c);
  await until(() => h.open.size === 1 && [...h.open][0].topics.length === 3);
  assert.deepEqual([...h.open][0].topics, ["books/1", "chat", "news"]);
  assert.equal(h.calls.at(-1).url.searchParams.get("tag"), "selectors");
  for (const [t, id] of [["chat", "e1"], ["news", "e2"], ["books/1", "e3"], ["other", "e4"], ["chat", "e5"]]) h.publish(t, id);
  await until(() => a.seen.ids.length === 2 && b.seen.ids.length === 3 && c.seen.ids.length === 1);
  assert.deepEqual(a.seen.ids, ["e1", "e5"]);
  assert.deepEqual(b.seen.ids, ["e1", "e3", "e5"]);
  assert.deepEqual(c.seen.ids, ["e2"]);
  for (const t of [a, b, c]) assert.deepEqual(t.seen.statuses, ["connecting", "open"]);
  for (const t of [a, b, c]) t.sub.close();
  assert.deepEqual(a.seen.statuses, ["connecting", "open", "closed"]);
});

test("a new union opens the stream again after the last event: nothing lost, nothing twice", async () => {
  const h = fakeHub();
  const a = tab(h.f, ["t"]);
  await open(a);
  h.publish("t", "e1");
  await until(() => a.seen.ids.length === 1);
  const b = tab(h.f, ["u"]);
  h.publish("t", "e2"); // while the stream changes
  await open(b);
  await until(() => h.open.size === 1 && [...h.open][0].topics.length === 2);
  h.publish("u", "e3");
  h.publish("t", "e4");
  await until(() => a.seen.ids.length === 3 && b.seen.ids.length === 1);
  assert.deepEqual(a.seen.ids, ["e1", "e2", "e4"]);
  assert.deepEqual(b.seen.ids, ["e3"]);
  assert.ok(["e1", "e2"].includes(h.calls.at(-1).headers["Last-Event-ID"]), "the new stream resumes after the last event");
  assert.deepEqual(a.seen.statuses, ["connecting", "open"], "the others' status stays open");
  b.sub.close();
  await until(() => [...h.open][0]?.topics.join() === "t");
  h.publish("t", "e5");
  await until(() => a.seen.ids.length === 4);
  assert.deepEqual(a.seen.ids, ["e1", "e2", "e4", "e5"]);
  a.sub.close();
});

test("the next tab takes over from the last id, and every subscription drops what it had", async () => {
  const h = fakeHub();
  const a = tab(h.f, ["t"]);
  const b = tab(h.f, ["t", "v"]);
  const c = tab(h.f, ["v"]);
  await open(a, b, c);
  await until(() => h.open.size === 1 && [...h.open][0].topics.length === 2);
  h.publish("t", "e1");
  h.publish("v", "e2");
  await until(() => b.seen.ids.length === 2 && c.seen.ids.length === 1);
  a.sub.close(); // the leader
  await until(() => b.seen.statuses.at(-1) === "open" && b.seen.statuses.length > 2);
  h.publish("t", "e3");
  h.publish("v", "e4");
  await until(() => b.seen.ids.length === 4 && c.seen.ids.length === 2);
  assert.deepEqual(b.seen.ids, ["e1", "e2", "e3", "e4"]);
  assert.deepEqual(c.seen.ids, ["e2", "e4"]);
  assert.equal(h.calls.at(-1).headers["Last-Event-ID"], "e2");
  assert.deepEqual(b.seen.statuses, ["connecting", "open", "reconnecting", "open"]);
  assert.equal(h.open.size, 1);
  b.sub.close();
  c.sub.close();
});

test("other tokens, shared: false or a lastEventID get streams of their own", async () => {
  const h = fakeHub();
  const tabs = [tab(h.f, ["one"]), tab(h.f, ["one"], { token: "another" }), tab(h.f, ["one"], { shared: false }), tab(h.f, ["two"])];
  await open(...tabs);
  const hub = new Hub({ url: "http://hub.test/.well-known/mercure", fetch: h.f });
  const got = [];
  h.publish("one", "y");
  await until(() => tabs.slice(0, 3).every((t) => t.seen.ids.length === 1));
  const sub = hub.subscribe("one", { lastEventID: "earliest", onEvent: (e) => got.push(e.id) });
  await until(() => got.length === 1);
  assert.equal(h.open.size, 4);
  assert.equal(h.calls.find((c) => c.headers.Authorization)?.headers.Authorization, "Bearer another");
  sub.close();
  for (const t of tabs) t.sub.close();
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
