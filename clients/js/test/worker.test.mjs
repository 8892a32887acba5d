// The module as a SharedWorker's script: this process's global scope is
// made a SharedWorkerGlobalScope before the module loads, so that it
// serves the ports handed to onconnect, as a browser's worker would.
import { test } from "node:test";
import assert from "node:assert/strict";

class SharedWorkerGlobalScope {}
Object.setPrototypeOf(SharedWorkerGlobalScope.prototype, Object.getPrototypeOf(globalThis));
Object.setPrototypeOf(globalThis, SharedWorkerGlobalScope.prototype);
globalThis.SharedWorkerGlobalScope = SharedWorkerGlobalScope;

const requests = [];
const streams = [];
globalThis.fetch = async (url, init) => {
  url = new URL(url);
  requests.push({ url, headers: { ...init.headers } });
  const body = new ReadableStream({
    start(c) {
      streams.push({ topics: url.searchParams.getAll("topic"), c });
      init.signal?.addEventListener("abort", () => c.error(new DOMException("aborted", "AbortError")));
    },
  });
  return new Response(body, { headers: { "Content-Type": "text/event-stream", "Last-Event-ID": "earliest" } });
};
await import("../dist/ssehub.js");

const until = async (pred, ms = 3000) => {
  for (const end = Date.now() + ms; !pred(); ) {
    if (Date.now() > end) throw new Error("timeout");
    await new Promise((r) => setTimeout(r, 5));
  }
};

// connect hands the worker a port, as a tab's new SharedWorker() does, and
// returns the tab's end with what it received.
function connect() {
  const ch = new MessageChannel();
  const got = [];
  ch.port2.onmessage = (m) => got.push(m.data);
  globalThis.onconnect({ ports: [ch.port1] });
  return { port: ch.port2, got };
}

test("the worker leads one stream for its tabs, asks the newest tab for a token, and tags events for them", async () => {
  assert.equal(typeof globalThis.onconnect, "function", "the module serves the worker's ports");
  const key = "ssehub k";
  const conf = { url: "http://hub.test/.well-known/mercure", withCredentials: false, headers: {}, tok: 1 };
  const a = connect();
  a.port.postMessage({ t: "sub", tab: "A", sid: "a1", topics: ["chat"], key, conf });
  await until(() => a.got.some((m) => m.t === "tok?"));
  const ask = a.got.find((m) => m.t === "tok?");
  a.port.postMessage({ t: "tok", n: ask.n, v: "T1", key, conf });
  await until(() => requests.length === 1 && a.got.some((m) => m.t === "st" && m.s === "open"));
  assert.equal(requests[0].headers.Authorization, "Bearer T1");
  assert.equal(requests[0].url.searchParams.get("tag"), "selectors");

  const b = connect();
  b.port.postMessage({ t: "sub", tab: "B", sid: "b1", topics: ["news"], key, conf });
  await until(() => b.got.some((m) => m.t === "tok?"));
  b.port.postMessage({ t: "tok", n: b.got.find((m) => m.t === "tok?").n, v: "T2", key, conf });
  await until(() => requests.length === 2 && streams.length === 2);
  assert.deepEqual(streams[1].topics, ["chat", "news"]);
  assert.equal(requests[1].headers.Authorization, "Bearer T2", "the newest tab gives the token");
  streams[1].c.enqueue(new TextEncoder().encode("id: e1\ndata: x\nselectors: 1\n\n"));
  await until(() => a.got.some((m) => m.t === "ev") && b.got.some((m) => m.t === "ev"));
  assert.deepEqual(b.got.find((m) => m.t === "ev").sel, ["news"]);

  b.port.postMessage({ t: "unsub", sid: "b1", key, conf });
  a.port.postMessage({ t: "unsub", sid: "a1", key, conf });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(requests.length, 2, "no stream once the last subscription left");
  a.port.close();
  b.port.close();
});
