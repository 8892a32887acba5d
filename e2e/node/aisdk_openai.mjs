// Drives ssehub's /v1/responses with the AI SDK's OpenAI provider, which
// calls the Responses API by default: streamText for a text answer, and
// for a tool call whose output the SDK sends back (function_call_output)
// to get the final text.
// Usage: node aisdk_openai.mjs <baseURL> <model> <prompt> <toolPrompt>
// Prints one JSON line of what it saw.
import { createOpenAI } from '@ai-sdk/openai';
import { streamText, tool, stepCountIs } from 'ai';
import { z } from 'zod';

const [baseURL, model, prompt, toolPrompt] = process.argv.slice(2);
const openai = createOpenAI({ baseURL, apiKey: 'unused-by-ssehub' });
const out = {};

const text = streamText({ model: openai(model), prompt, maxOutputTokens: 40, maxRetries: 0 });
let streamed = '';
for await (const delta of text.textStream) streamed += delta;
out.text = { streamed, text: await text.text, finishReason: await text.finishReason, usage: await text.usage };

// A second turn: the SDK sends its first answer back as an item_reference
// to the stored output message (msg_…), which ssehub reads back.
const messages = [{ role: 'user', content: prompt }, ...(await text.response).messages, { role: 'user', content: 'And then?' }];
const second = streamText({ model: openai(model), messages, maxOutputTokens: 40, maxRetries: 0 });
out.second = { text: await second.text, sent: (await second.request).body };

const calls = [];
const weather = streamText({
  model: openai(model),
  prompt: toolPrompt,
  maxRetries: 0,
  tools: {
    get_weather: tool({
      description: 'The weather of a city',
      inputSchema: z.object({ city: z.string() }),
      execute: async ({ city }) => {
        calls.push(city);
        return `18°C and sunny in ${city}`;
      },
    }),
  },
  stopWhen: stepCountIs(2),
});
const steps = await weather.steps;
out.tool = {
  text: await weather.text,
  calls,
  steps: steps.map(s => ({ finishReason: s.finishReason, toolCalls: s.toolCalls.map(c => c.toolName), text: s.text })),
};

console.log(JSON.stringify(out));
