// Drives ssehub's /v1/chat/completions with the official npm `openai` SDK.
// Usage: node openai_sdk.mjs <baseURL> <model> <prompt>
// Prints one JSON line: the streamed and the non-streamed results.
import OpenAI from 'openai';

const [baseURL, model, prompt] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: 'unused-by-ssehub', maxRetries: 0, timeout: 30000 });
const messages = [{ role: 'user', content: prompt }];

const full = await client.chat.completions.create({ model, messages, max_tokens: 120 });

const stream = await client.chat.completions.create({
  model, messages, max_tokens: 120, stream: true, stream_options: { include_usage: true },
});
let text = '', finish = null, usage = null, chunks = 0, role = null;
for await (const chunk of stream) {
  chunks++;
  if (chunk.usage) usage = chunk.usage;
  const c = chunk.choices[0];
  if (!c) continue;
  if (c.delta.role) role = c.delta.role;
  if (c.delta.content) text += c.delta.content;
  if (c.finish_reason) finish = c.finish_reason;
}

let errorStatus = null, errorType = null;
try {
  await client.chat.completions.create({ model: 'no-such-model', messages });
} catch (e) {
  errorStatus = e.status; errorType = e.error?.type ?? e.type ?? null;
}

const models = (await client.models.list()).data.map(m => m.id);

console.log(JSON.stringify({
  full: { content: full.choices[0].message.content, finish: full.choices[0].finish_reason, usage: full.usage, object: full.object },
  stream: { content: text, finish, usage, chunks, role },
  error: { status: errorStatus, type: errorType },
  models,
}));
