// Hub.generate, resumeGeneration and stopGeneration against a fake hub: the
// URLs derived from the hub's endpoint, the chunks in order, the snapshot
// then the rest with no repeat, the end (done, error), abort and refusals.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Hub, GenerationError, HubError } from "../dist/ssehub.js";

const sse = (id, type, data) => `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
const tokens = (texts, from = 1) => texts.map((text, i) => sse(`e${from + i}`, "token", { text }));
const done = (id, reason = "stop") => sse(id, "done", { reason, usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 } });

// fakeHub answers requests by route: routes maps "METHOD path" to a
// function of (url, init) giving {status, json} or {chunks, open} for a
// stream. Every request is recorded.
function fakeHub(routes) {
  const calls = [];
  const f = async (url, init) => {
    const u = new URL(url);
    const key = `${init.method ?? "GET"} ${u.pathname}`;
    calls.push({ key, url: u, headers: { ...init.headers }, body: init.body });
    const route = routes[key];
    if (!route) return new Response(JSON.stringify({ error: "no route " + key }), { status: 404 });
    const a = route(u, init);
    if (!a.chunks) {
      const headers = { "Content-Type": "application/json", ...a.headers };
      return new Response(a.json === undefined ? null : JSON.stringify(a.json), { status: a.status ?? 200, headers });
    }
    const body = new ReadableStream({
      start(c) {
        for (const chunk of a.chunks) c.enqueue(new TextEncoder().encode(chunk));
        if (!a.open) c.close();
        init.signal?.addEventListener("abort", () => c.error(new DOMException("aborted", "AbortError")));
      },
    });
    return new Response(body, { headers: { "Content-Type": "text/event-stream" } });
  };
  return { f, calls };
}

async function collect(gen) {
  const chunks = [];
  for await (const c of gen) chunks.push(c);
  return chunks;
}

test("generate: starts at the hub's origin, reads the topic from earliest, ends at done", async () => {
  for (const [url, prefix] of [
    ["http://hub.test/.well-known/mercure", ""],
    ["http://hub.test/events", ""],
    ["http://hub.test/sub/.well-known/mercure", "/sub"],
  ]) {
    const { f, calls } = fakeHub({
      [`POST ${prefix}/llm/generations`]: () => ({ status: 201, json: { id: "g1", topic: "llm/generations/g1" } }),
      [`GET ${new URL(url).pathname}`]: () => ({ chunks: [...tokens(["Hel", "lo", ""]), "retry: 1000\n\n", done("e4")] }),
    });
    const hub = new Hub({ url, token: "tok", fetch: f });
    let started = "";
    const gen = hub.generate({ messages: [{ role: "user", content: "hi" }], max_tokens: 5 }, { onStart: (id) => (started = id) });
    assert.deepEqual(await collect(gen), ["Hel", "lo"]);
    assert.equal(started, "g1");
    assert.equal(gen.id, "g1");
    assert.equal(gen.text, "Hello");
    assert.equal(gen.reason, "stop");
    assert.equal(gen.usage.total_tokens, 4);
    const [start, sub] = calls;
    assert.deepEqual(JSON.parse(start.body), { messages: [{ role: "user", content: "hi" }], max_tokens: 5 });
    assert.equal(start.headers.Authorization, "Bearer tok");
    assert.equal(start.headers["Content-Type"], "application/json");
    assert.deepEqual(sub.url.searchParams.getAll("topic"), ["llm/generations/g1"]);
    assert.equal(sub.headers["Last-Event-ID"], "earliest");
  }
});

test("generate: an error event throws a GenerationError after the text before it", async () => {
  const { f } = fakeHub({
    "POST /llm/generations": () => ({ status: 201, json: { id: "g2" } }),
    "GET /.well-known/mercure": () => ({ chunks: [...tokens(["a", "b"]), sse("e3", "error", { error: "timed out after 600ms", kind: "timeout" })] }),
  });
  const gen = new Hub({ url: "http://hub.test/.well-known/mercure", fetch: f }).generate({ messages: [] });
  const chunks = [];
  await assert.rejects(async () => {
    for await (const c of gen) chunks.push(c);
  }, (e) => e instanceof GenerationError && e.kind === "timeout" && e.message === "timed out after 600ms");
  assert.deepEqual(chunks, ["a", "b"]);
});

test("generate: a refused start rejects with the hub's status, field and Retry-After", async () => {
  const { f } = fakeHub({
    "POST /llm/generations": () => ({ status: 429, headers: { "Retry-After": "3" }, json: { error: "busy", field: "model" } }),
  });
  const gen = new Hub({ url: "http://hub.test/events", fetch: f }).generate({ messages: [] });
  await assert.rejects(collect(gen), (e) =>
    e instanceof HubError && e.status === 429 && e.field === "model" && e.retryAfter === 3000 && /busy/.test(e.message));
});

test("resumeGeneration: the snapshot's text once, then the events after its last id", async () => {
  const { f, calls } = fakeHub({
    "GET /llm/generations/g%203": () => ({ json: { status: "running", text: "Hello, ", last_event_id: "e2" } }),
    "GET /.well-known/mercure": () => ({ chunks: [...tokens(["wor", "ld"], 3), done("e5", "length")] }),
  });
  const gen = new Hub({ url: "http://hub.test/.well-known/mercure", fetch: f }).resumeGeneration("g 3");
  assert.equal(gen.id, "");
  assert.deepEqual(await collect(gen), ["Hello, ", "wor", "ld"]);
  assert.equal(gen.text, "Hello, world");
  assert.equal(gen.reason, "length");
  assert.equal(calls[0].url.pathname, "/llm/generations/g%203");
  assert.equal(calls[1].headers["Last-Event-ID"], "e2");
  assert.deepEqual(calls[1].url.searchParams.getAll("topic"), ["llm/generations/g 3"]);
});

test("resumeGeneration: an ended generation gives its text and ends without subscribing", async () => {
  const { f, calls } = fakeHub({
    "GET /llm/generations/a": () => ({ json: { status: "done", text: "all", finish_reason: "stopped", last_event_id: "e9" } }),
    "GET /llm/generations/b": () => ({ json: { status: "error", text: "part", error: "the server stopped", kind: "interrupted" } }),
  });
  const hub = new Hub({ url: "http://hub.test/events", fetch: f });
  const a = hub.resumeGeneration("a");
  assert.deepEqual(await collect(a), ["all"]);
  assert.equal(a.reason, "stopped");
  const chunks = [];
  await assert.rejects(async () => {
    for await (const c of hub.resumeGeneration("b")) chunks.push(c);
  }, (e) => e instanceof GenerationError && e.kind === "interrupted");
  assert.deepEqual(chunks, ["part"]);
  assert.deepEqual(calls.map((c) => c.key), ["GET /llm/generations/a", "GET /llm/generations/b"]);
});

test("resumeGeneration: an unknown id rejects with 404", async () => {
  const { f } = fakeHub({});
  await assert.rejects(collect(new Hub({ url: "http://hub.test/events", fetch: f }).resumeGeneration("x")), (e) => e.status === 404);
});

test("generate: aborting stops reading and closes the stream; break does too", async () => {
  let aborted = 0;
  const { f } = fakeHub({
    "POST /llm/generations": () => ({ status: 201, json: { id: "g4" } }),
    "GET /.well-known/mercure": (u, init) => {
      init.signal.addEventListener("abort", () => aborted++);
      return { chunks: tokens(["one", "two"]), open: true };
    },
  });
  const hub = new Hub({ url: "http://hub.test/.well-known/mercure", fetch: f });
  const ctl = new AbortController();
  const chunks = [];
  await assert.rejects(async () => {
    for await (const c of hub.generate({ messages: [] }, { signal: ctl.signal })) {
      chunks.push(c);
      if (chunks.length === 2) ctl.abort(new Error("page left"));
    }
  }, /page left/);
  assert.deepEqual(chunks, ["one", "two"]);
  assert.equal(aborted, 1);
  for await (const c of hub.generate({ messages: [] })) {
    assert.equal(c, "one");
    break;
  }
  assert.equal(aborted, 2);
  const gen = hub.generate({ messages: [] }, { signal: AbortSignal.abort() });
  await assert.rejects(collect(gen), { name: "AbortError" });
  assert.throws(() => gen[Symbol.asyncIterator](), /once/);
});

test("generate: a subscription the hub refuses ends the iteration with its error", async () => {
  const { f } = fakeHub({
    "POST /llm/generations": () => ({ status: 201, json: { id: "g5" } }),
    "GET /events": () => ({ status: 403, json: { error: "not your topic" } }),
  });
  const gen = new Hub({ url: "http://hub.test/events", fetch: f }).generate({ messages: [] });
  await assert.rejects(collect(gen), (e) => e.status === 403 && /not your topic/.test(e.message));
});

test("stopGeneration posts to …/stop", async () => {
  const { f, calls } = fakeHub({ "POST /llm/generations/g6/stop": () => ({ status: 202, json: { status: "stopping" } }) });
  await new Hub({ url: "http://hub.test/.well-known/mercure", fetch: f }).stopGeneration("g6");
  assert.equal(calls.length, 1);
  await assert.rejects(new Hub({ url: "http://hub.test/events", fetch: f }).stopGeneration("nope"), (e) => e.status === 404);
});

test("generate: aborted while starting, it tells the id and reads nothing", async () => {
  const { f, calls } = fakeHub({ "POST /llm/generations": () => ({ status: 201, json: { id: "g7" } }) });
  const ctl = new AbortController();
  const gen = new Hub({ url: "http://hub.test/events", fetch: f }).generate({ messages: [] }, {
    signal: ctl.signal,
    onStart: () => ctl.abort(new Error("reset")),
  });
  await assert.rejects(collect(gen), /reset/);
  assert.equal(gen.id, "g7");
  assert.deepEqual(calls.map((c) => c.key), ["POST /llm/generations"]);
});
