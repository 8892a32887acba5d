// Drives tool calls through ssehub's /v1/chat/completions with the official
// npm `openai` SDK: a call not streamed, a call streamed (through the SDK's
// own stream helper, which accumulates the chunks), and the follow-up
// request carrying the tool's output.
// Usage: node openai_tools.mjs <baseURL> <model> <apiKey>
// Prints one JSON line.
import OpenAI from 'openai';

const [baseURL, model, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: apiKey || 'unused-by-ssehub', maxRetries: 0, timeout: 30000 });
const tools = [{
  type: 'function',
  function: {
    name: 'get_weather', description: 'The weather in a city', strict: true,
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  },
}];
const messages = [{ role: 'user', content: 'What is the weather in Paris? Use get_weather.' }];

const full = await client.chat.completions.create({ model, messages, tools });
const fullChoice = full.choices[0];

let argumentDeltas = 0;
const stream = client.chat.completions.stream({ model, messages, tools, tool_choice: 'auto' });
stream.on('tool_calls.function.arguments.delta', () => { argumentDeltas++; });
const streamed = await stream.finalChatCompletion();
const streamedChoice = streamed.choices[0];

const call = streamedChoice.message.tool_calls[0];
const followUp = await client.chat.completions.create({
  model, tools,
  messages: [...messages, streamedChoice.message, { role: 'tool', tool_call_id: call.id, content: '18°C, sunny' }],
});

console.log(JSON.stringify({
  full: { finish: fullChoice.finish_reason, content: fullChoice.message.content, toolCalls: fullChoice.message.tool_calls },
  stream: { finish: streamedChoice.finish_reason, content: streamedChoice.message.content, toolCalls: streamedChoice.message.tool_calls, argumentDeltas },
  followUp: { finish: followUp.choices[0].finish_reason, content: followUp.choices[0].message.content },
}));
