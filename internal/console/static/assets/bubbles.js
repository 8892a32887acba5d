// bubbles: the chat's message bubbles. An answer is rendered from its
// Markdown by the safe renderer (its raw text kept in data-raw), with a caret
// while it streams and a note when it ends: the finish reason and usage, or
// the error.

import { t, has } from './i18n.js';
import { render as renderMarkdown } from './markdown.js';

// bubble makes a .chat-msg of role with its .chat-body.
export function bubble(role, state) {
  const msg = document.createElement('div');
  msg.className = 'chat-msg';
  msg.dataset.role = role;
  if (state) msg.dataset.state = state;
  const body = document.createElement('div');
  body.className = 'chat-body';
  msg.append(body);
  return { msg, body };
}

// stateOf is the data-state of a finished answer with this note.
export function stateOf(note) {
  if (note.key) return 'error';
  return note.reason === 'stopped' ? 'stopped' : 'done';
}

// lastBlock finds where a caret goes: the end of the answer's last block.
function lastBlock(el) {
  let target = el;
  for (let last = el.lastElementChild; last && /^(P|UL|OL|LI|BLOCKQUOTE|PRE|H[1-6])$/.test(last.tagName); last = target.lastElementChild) {
    target = last;
  }
  return target.tagName === 'PRE' && target.firstElementChild ? target.firstElementChild : target;
}

// paintAnswer renders an answer's Markdown; the raw text stays in data-raw.
export function paintAnswer(body, text, streaming) {
  body.dataset.raw = text;
  body.replaceChildren(renderMarkdown(text));
  if (streaming) {
    const caret = document.createElement('span');
    caret.className = 'caret';
    caret.setAttribute('aria-hidden', 'true');
    lastBlock(body).append(caret);
  }
}

// describe is the text of a note.
export function describe(note) {
  if (note.key) return t(note.key, note.params);
  if (!note.reason) return '';
  const key = 'chat.reason.' + note.reason;
  const reason = has(key) ? t(key) : String(note.reason);
  const u = note.usage;
  if (!u || typeof u !== 'object') return reason;
  return t('chat.usage', {
    reason, prompt: u.prompt_tokens ?? 0, completion: u.completion_tokens ?? 0, total: u.total_tokens ?? 0,
  });
}
