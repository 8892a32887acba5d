// jsllm.mjs drives hub.generate, resumeGeneration and stopGeneration of
// @ssehub/client (the built clients/js/dist/ssehub.js) against a real hub
// whose simulated model is slow enough to leave an answer mid-way.
// Usage: node jsllm.mjs <hub URL>. It prints what each step saw, as JSON.
import { Hub } from "../../clients/js/dist/ssehub.js";

const [base] = process.argv.slice(2);
const hub = new Hub({ url: base + "/.well-known/mercure" });
const question = { messages: [{ role: "user", content: "Tell me a long story about streams." }], max_tokens: 40 };
const out = {};

// snapshot polls the generation's state until it has ended (it may trail
// the stream by an instant).
async function snapshot(id) {
  for (const deadline = Date.now() + 5000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
    const s = await (await fetch(`${base}/llm/generations/${encodeURIComponent(id)}`)).json();
    if (s.status !== "running") return s;
  }
  throw new Error("generation " + id + " did not end");
}

// 1. A page reads three chunks, then leaves (its signal aborts); after the
// reload it resumes the generation by id.
const leave = new AbortController();
let started = "";
const first = hub.generate(question, { signal: leave.signal, onStart: (id) => (started = id) });
const before = [];
try {
  for await (const chunk of first) {
    before.push(chunk);
    if (before.length === 3) leave.abort(new Error("reload"));
  }
} catch (e) {
  out.leftWith = e.message;
}
const resumed = hub.resumeGeneration(first.id);
const after = [];
for await (const chunk of resumed) after.push(chunk);
const snap = await snapshot(first.id);
out.reload = { id: first.id, started, before, after, reason: resumed.reason, usage: resumed.usage, snapshot: { status: snap.status, text: snap.text } };

// 2. A reader stops the generation after two chunks: the iteration ends
// with reason "stopped" and the snapshot's text is what it read.
const second = hub.generate(question);
const got = [];
for await (const chunk of second) {
  got.push(chunk);
  if (got.length === 2) await hub.stopGeneration(second.id);
}
const stopped = await snapshot(second.id);
out.stop = { text: got.join(""), reason: second.reason, snapshot: { status: stopped.status, text: stopped.text, reason: stopped.finish_reason } };

// 3. An unknown id is refused.
try {
  for await (const _ of hub.resumeGeneration("no-such-generation"));
} catch (e) {
  out.unknown = { status: e.status, message: e.message };
}
console.log(JSON.stringify(out));
