// A chat page using the Vercel AI SDK's useChat against ssehub's
// /api/chat: resume: true continues an answer after a reload, Stop ends
// it on the server, and a tool the model calls is run in the page. The
// e2e test bundles it with esbuild (no CDN) and drives it in Chromium.
import { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { useChat } from '@ai-sdk/react';
import { DefaultChatTransport, lastAssistantMessageIsCompleteWithToolCalls } from 'ai';

const params = new URLSearchParams(location.search);
const chatId = params.get('chat') || 'demo';
const api = params.get('api') || '/api/chat';
const maxTokens = Number(params.get('maxTokens') || 0) || undefined;

// Tools live in the page: with ?tools, the body carries their JSON
// schemas, ssehub offers them to the model, and onToolCall answers the
// calls.
const tools = [{
  name: 'get_weather',
  description: 'The weather of a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
}];

// reconnects records the status of each resume (GET …/stream): 200 or 204.
window.reconnects = [];
// An answer read as running may end before the resume, which then gets
// 204: the chat is read again (onEnded).
let readRunning = false;
let onEnded = () => {};
const transport = new DefaultChatTransport({
  api,
  body: { tools: params.has('tools') ? tools : undefined, maxTokens },
  fetch: async (url, init) => {
    const res = await fetch(url, init);
    if ((init?.method || 'GET') === 'GET') {
      window.reconnects.push(res.status);
      if (res.status === 204 && readRunning) onEnded();
      readRunning = false;
    }
    return res;
  },
});

async function readChat() {
  const res = await fetch(`${api}/${chatId}`);
  return res.ok ? res.json() : { messages: [], running: false };
}

function Part({ part }) {
  if (part.type === 'text') return <span className="text">{part.text}</span>;
  if (part.type.startsWith('tool-')) {
    return (
      <div className="tool" data-tool={part.type.slice(5)} data-state={part.state}>
        {part.type.slice(5)}({JSON.stringify(part.input)}){part.output !== undefined ? ' → ' + JSON.stringify(part.output) : ''}
      </div>
    );
  }
  return null;
}

function Chat({ initial }) {
  const [input, setInput] = useState('');
  const { messages, setMessages, sendMessage, status, error, addToolOutput } = useChat({
    id: chatId,
    messages: initial,
    resume: true,
    transport,
    sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithToolCalls,
    onToolCall({ toolCall }) {
      if (toolCall.toolName === 'get_weather') {
        addToolOutput({ tool: 'get_weather', toolCallId: toolCall.toolCallId, output: 'sunny' }); // not awaited: see the AI SDK docs
      }
    },
  });
  onEnded = () => readChat().then((chat) => setMessages(chat.messages));
  // Stop ends the answer on the server: its stream then ends by itself.
  const stop = () => fetch(`${api}/${chatId}/stop`, { method: 'POST' });
  window.chat = { messages, status, error: error ? String(error) : '', send: (text) => sendMessage({ text }), stop };
  return (
    <>
      <div id="log">
        {messages.map((m) => (
          <div key={m.id} className="msg" data-role={m.role} data-id={m.id}>
            {m.parts.map((p, i) => <Part key={i} part={p} />)}
          </div>
        ))}
      </div>
      <p id="status" data-status={status}>{status}{error ? ': ' + error : ''}</p>
      <form onSubmit={(e) => { e.preventDefault(); if (input) { sendMessage({ text: input }); setInput(''); } }}>
        <input id="prompt" value={input} onChange={(e) => setInput(e.target.value)} placeholder="Ask…" />
        <button id="send" disabled={status !== 'ready'}>Send</button>
        <button id="stop" type="button" onClick={stop} disabled={status !== 'streaming' && status !== 'submitted'}>Stop</button>
      </form>
    </>
  );
}

// The conversation so far comes from ssehub (GET /api/chat/{id}), so a
// reload shows it; useChat then resumes the answer still being written.
async function main() {
  const chat = await readChat();
  readRunning = chat.running;
  createRoot(document.getElementById('root')).render(<Chat initial={chat.messages} />);
}
main();
