// Drives ssehub's /v1/responses with the official npm `openai` SDK: create
// (non-streamed, streamed, background), streams cut and resumed with
// retrieve(id, {stream, starting_after}) and responses.stream({response_id}),
// cancel and delete.
// Usage: node responses_sdk.mjs <baseURL> <model> <prompt>
// Prints one JSON line of what it saw.
import OpenAI from 'openai';

const [baseURL, model, prompt] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: 'unused-by-ssehub', maxRetries: 0, timeout: 30000 });
const out = {};

// read consumes a stream of events, at most `deltas` text deltas (all when
// undefined), and returns what it saw; breaking out of the loop aborts it.
async function read(stream, deltas) {
  const seen = { id: null, deltas: [], done: null, types: [], seqs: [], final: null };
  for await (const ev of stream) {
    seen.types.push(ev.type);
    seen.seqs.push(ev.sequence_number);
    if (ev.response) { seen.id = ev.response.id; seen.final = { status: ev.response.status, usage: ev.response.usage ?? null }; }
    if (ev.type === 'response.output_text.delta') seen.deltas.push(ev.delta);
    if (ev.type === 'response.output_text.done') seen.done = ev.text;
    if (deltas !== undefined && seen.deltas.length >= deltas) break;
  }
  seen.last = seen.seqs.at(-1);
  return seen;
}

// textOf is a Response object's text; output_text is the SDK's, added by
// create and retrieve but not by cancel.
const textOf = (r) => r.output.filter(o => o.type === 'message').flatMap(o => o.content).map(c => c.text).join('');

// cutAndResume reads a few deltas of a stream, drops it, then resumes.
async function cutAndResume(stream) {
  const first = await read(stream, 3);
  const rest = await read(await client.responses.retrieve(first.id, { stream: true, starting_after: first.last }));
  return { id: first.id, first, rest };
}

const full = await client.responses.create({ model, input: prompt, max_output_tokens: 40 });
out.full = { id: full.id, object: full.object, status: full.status, text: full.output_text, usage: full.usage };

out.stream = await read(await client.responses.create({ model, input: prompt, max_output_tokens: 40, stream: true }));

const bg = await client.responses.create({ model, input: prompt, max_output_tokens: 40, background: true });
out.background = { status: bg.status, background: bg.background, stream: await read(await client.responses.retrieve(bg.id, { stream: true })) };

out.cut = await cutAndResume(await client.responses.create({ model, input: prompt, max_output_tokens: 40, stream: true }));
out.cutBackground = await cutAndResume(await client.responses.create({ model, input: prompt, max_output_tokens: 40, stream: true, background: true }));

// The SDK's helper resumes too, and assembles the final response.
const helper = client.responses.stream({ response_id: out.cut.id, starting_after: 5 });
const helperEvents = await read(helper);
const helperFinal = await helper.finalResponse();
out.helper = { firstSeq: helperEvents.seqs[0], text: helperFinal.output_text, status: helperFinal.status };

const long = await client.responses.create({ model, input: prompt, max_output_tokens: 2000, background: true });
await read(await client.responses.retrieve(long.id, { stream: true }), 2);
const cancelled = await client.responses.cancel(long.id);
const afterCancel = await client.responses.retrieve(long.id);
out.cancel = { status: cancelled.status, text: textOf(cancelled), retrieved: afterCancel.status, retrievedText: afterCancel.output_text };

await client.responses.delete(full.id);
try {
  await client.responses.retrieve(full.id);
  out.deleted = { status: 200 };
} catch (e) {
  out.deleted = { status: e.status, type: e.error?.type ?? e.type ?? null };
}

console.log(JSON.stringify(out));
