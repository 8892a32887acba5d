// jsclient.mjs drives @ssehub/client (the built clients/js/dist/ssehub.js,
// as published) against a real hub started with -jwt-key and a small
// -history-events. Usage: node jsclient.mjs <hub URL> <publisher token>
// <subscriber token> <bad token>. It prints what each step saw, as JSON.
import { Hub } from "../../clients/js/dist/ssehub.js";

const [base, pubToken, subToken, badToken] = process.argv.slice(2);
const url = base + "/.well-known/mercure";
const publisher = new Hub({ url, token: pubToken });

// collect subscribes and resolves once `until` holds for what it saw.
function collect(hub, topics, opts, until) {
  const seen = { events: [], statuses: [], gaps: [], errors: [] };
  let done;
  const p = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout: " + JSON.stringify(seen))), 20000);
    done = () => until(seen) && (clearTimeout(timer), resolve(seen));
  });
  const sub = hub.subscribe(topics, {
    ...opts,
    onEvent: (ev) => (seen.events.push({ id: ev.id, type: ev.type, data: ev.data }), done()),
    onStatus: (s) => (seen.statuses.push(s), done()),
    onGap: (g) => (seen.gaps.push(g), done()),
    onError: (e) => (seen.errors.push({ status: e.status, message: e.message }), done()),
  });
  seen.sub = sub;
  return { sub, seen, wait: p };
}
const opened = (s) => s.statuses.includes("open");
const strip = ({ sub, ...rest }) => rest;

const out = {};

// 1. A subscriber with a token in the Authorization header gets a private
// update; an anonymous one does not.
const authed = collect(new Hub({ url, token: subToken }), ["books/{id}"], {}, (s) => s.events.length >= 3);
const anon = collect(new Hub({ url }), ["books/{id}"], {}, (s) => s.events.length >= 2);
await Promise.all([
  new Promise((r) => { const t = setInterval(() => opened(authed.seen) && opened(anon.seen) && (clearInterval(t), r()), 10); }),
]);
const ids = [];
ids.push(await publisher.publish({ topic: "books/1", data: JSON.stringify({ n: 1 }), type: "book" }));
ids.push(await publisher.publish({ topic: "books/1", data: "secret", private: true }));
ids.push(await publisher.publish({ topic: "books/2", data: "three" }));
out.ids = ids;
out.authed = strip(await authed.wait);
out.anon = strip(await anon.wait);
authed.sub.close();
anon.sub.close();

// 2. Resuming from the first id replays the two after it, with no gap.
const resumed = collect(new Hub({ url, token: subToken }), ["books/{id}"], { lastEventID: ids[0] }, (s) => s.events.length >= 2);
out.resumed = strip(await resumed.wait);
resumed.sub.close();

// 3. Once history (5 events a topic) no longer has the id, resuming from it
// reports a gap and replays what is left.
for (let i = 0; i < 8; i++) await publisher.publish({ topic: "books/1", data: "more " + i });
const gap = collect(new Hub({ url }), ["books/1"], { lastEventID: ids[0] }, (s) => s.gaps.length >= 1 && s.events.length >= 5);
out.gap = strip(await gap.wait);
gap.sub.close();

// 4. A refused token: the token function is asked once more, then the
// subscription stops.
let asked = 0;
const refused = collect(new Hub({ url, token: () => (asked++, badToken) }), ["books/1"], {}, (s) => s.statuses.includes("closed"));
out.refused = strip(await refused.wait);
out.refused.asked = asked;

console.log(JSON.stringify(out));
