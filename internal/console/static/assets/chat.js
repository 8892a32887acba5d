// chat: the "Ask the model" panel. The conversation (the messages sent whole
// with every question) and the generation in progress are kept in
// sessionStorage, so that a reload rebuilds the conversation and continues
// the answer where it was: the generation's snapshot gives the text so far
// and the id of the last event in it, and the stream resumes after that id.
// The model's text is only put into the page by the Markdown renderer, which
// never makes markup of it.

import { GenerationError, HubError, retryDelay } from '/ssehub.js';
import { hub } from './connection.js';
import { bubble, describe, paintAnswer, stateOf } from './bubbles.js';
import { listModels } from './llm.js';

const STORAGE_KEY = 'ssehub.console.chat';
const ROLES = ['user', 'assistant', 'system'];

// loadState reads the stored chat: {model, messages, notes, running}. notes[i]
// describes messages[i]'s bubble: {reason, usage} for an answer, and for a
// question whose answer failed {key, params, partial} (the error's message
// key and the text received before it). running is the generation in
// progress, {id}, or null.
function loadState() {
  const empty = { model: '', messages: [], notes: [], running: null };
  try {
    const s = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || '{}');
    const messages = Array.isArray(s.messages) ? s.messages : [];
    if (!messages.every((m) => m && ROLES.includes(m.role) && typeof m.content === 'string')) return empty;
    const notes = Array.isArray(s.notes) ? s.notes : [];
    const r = s.running;
    return {
      model: typeof s.model === 'string' ? s.model : '',
      messages: messages.map(({ role, content }) => ({ role, content })),
      notes: messages.map((m, i) => (notes[i] && typeof notes[i] === 'object' ? notes[i] : null)),
      running: r && typeof r.id === 'string' ? { id: r.id } : null,
    };
  } catch (e) {
    return empty;
  }
}

// startFailure is the note of a question the hub refused to answer.
function startFailure(e) {
  if (!(e instanceof HubError)) return { key: 'chat.err.network', params: { error: e.message } };
  if (e.status === 429) return { key: 'chat.err.busy', params: { seconds: Math.ceil(e.retryAfter / 1000) || 1 } };
  if (e.field) return { key: 'chat.err.field', params: { error: e.message, field: e.field } };
  return { key: 'chat.err.start', params: { error: e.message } };
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// refused tells a 4xx (the hub will not change its mind) from a failure to reach it.
const refused = (e) => e instanceof HubError && e.status >= 400 && e.status < 500;

// createChat runs the panel in its elements; it returns {retranslate}.
export function createChat({ log, prompt, send, stop, reset, model }) {
  const st = loadState();
  const empty = log.querySelector('.chat-empty');
  const noteOf = new WeakMap(); // .chat-note element → its note, for a language switch
  // The answer in progress: {msg, body, text, index, id, end, stopping, frame}.
  let live = null;

  function persist() {
    try { sessionStorage.setItem(STORAGE_KEY, JSON.stringify(st)); } catch (e) { /* full: best effort */ }
  }

  function sync() {
    send.disabled = live !== null;
    stop.disabled = !live || !live.id || live.stopping;
    empty.hidden = log.querySelector('.chat-msg') !== null;
    log.setAttribute('aria-busy', String(live !== null));
  }

  const nearBottom = () => log.scrollHeight - log.scrollTop - log.clientHeight < 48;

  function add(node, force) {
    const stick = force || nearBottom();
    log.append(node);
    if (stick) log.scrollTop = log.scrollHeight;
  }

  function addNote(msg, note) {
    const text = describe(note);
    if (!text) return;
    const el = document.createElement('div');
    el.className = 'chat-note';
    el.textContent = text;
    noteOf.set(el, note);
    msg.append(el);
  }

  function showUser(text) {
    const b = bubble('user');
    b.body.textContent = text;
    add(b.msg, true);
  }

  function showAnswer(text, note) {
    const b = bubble('assistant', stateOf(note));
    paintAnswer(b.body, text, false);
    addNote(b.msg, note);
    add(b.msg);
  }

  function rebuild() {
    log.querySelectorAll('.chat-msg').forEach((m) => m.remove());
    st.messages.forEach((m, i) => {
      const note = st.notes[i];
      if (m.role === 'user') {
        showUser(m.content);
        if (note && note.key) showAnswer(String(note.partial || ''), note);
      } else if (m.role === 'assistant') {
        showAnswer(m.content, note || {});
      }
    });
    log.scrollTop = log.scrollHeight;
  }

  // begin shows an empty answer, streaming, to the question at index.
  function begin(index) {
    const b = bubble('assistant', 'streaming');
    paintAnswer(b.body, '', true);
    add(b.msg, true);
    const ctl = new AbortController();
    live = { ...b, text: '', index, id: '', signal: ctl.signal, end: () => ctl.abort(), stopping: false, frame: 0 };
    sync();
    return live;
  }

  // paintSoon re-renders the answer at the next frame, once however many
  // tokens came; hidden pages get no frames, so there it uses a timer.
  function paintSoon(cur) {
    if (cur.frame) return;
    const paint = () => {
      cur.frame = 0;
      if (live !== cur) return;
      const stick = nearBottom();
      paintAnswer(cur.body, cur.text, true);
      if (stick) log.scrollTop = log.scrollHeight;
    };
    cur.frame = document.hidden ? setTimeout(paint, 100) : requestAnimationFrame(paint);
  }

  // read shows a generation's chunks as they come, until it ends. It
  // resolves to the error that kept it from starting (not yet finished), if any.
  async function read(cur, gen) {
    try {
      for await (const chunk of gen) {
        if (live !== cur) return null;
        cur.text += chunk;
        paintSoon(cur);
      }
      finish(cur, { reason: gen.reason, usage: gen.usage || null });
    } catch (e) {
      if (live !== cur) return null;
      if (e instanceof GenerationError) finish(cur, { key: 'chat.failed', params: { error: e.message } });
      else if (cur.text) finish(cur, { key: 'chat.err.lost', params: { error: e.message } });
      else return e;
    }
    return null;
  }

  // finish ends the answer in progress: an answer joins the conversation
  // (a stopped one with its partial text), a failure is noted on its question.
  function finish(cur, note) {
    if (live !== cur) return;
    live = null;
    cur.end();
    if (note.key) {
      st.notes[cur.index] = { ...note, partial: cur.text };
    } else {
      st.messages.push({ role: 'assistant', content: cur.text });
      st.notes.push(note);
    }
    st.running = null;
    persist();
    const stick = nearBottom();
    paintAnswer(cur.body, cur.text, false);
    cur.msg.dataset.state = stateOf(note);
    addNote(cur.msg, note);
    if (stick) log.scrollTop = log.scrollHeight;
    sync();
  }

  async function ask() {
    const text = prompt.value.trim();
    if (!text || live) return;
    prompt.value = '';
    st.messages.push({ role: 'user', content: text });
    st.notes.push(null);
    persist();
    showUser(text);
    const cur = begin(st.messages.length - 1);
    const req = { messages: st.messages.map(({ role, content }) => ({ role, content })) };
    if (st.model) req.model = st.model;
    const gen = hub.generate(req, {
      signal: cur.signal,
      onStart(id) {
        if (live !== cur) { // the conversation was reset meanwhile
          hub.stopGeneration(id).catch(() => {});
          return;
        }
        cur.id = id;
        st.running = { id };
        persist();
        sync();
      },
    });
    const err = await read(cur, gen);
    if (err) finish(cur, gen.id ? { key: 'chat.err.lost', params: { error: err.message } } : startFailure(err));
  }

  // resume continues the answer that was streaming before a reload: it shows
  // the snapshot's text and follows the events after the snapshot's last one.
  async function resume() {
    const run = st.running;
    if (!run) return;
    const cur = begin(st.messages.length - 1);
    cur.id = run.id;
    sync();
    for (let attempt = 0; live === cur; attempt++) {
      cur.text = '';
      const err = await read(cur, hub.resumeGeneration(run.id, { signal: cur.signal }));
      if (!err) return;
      if (refused(err)) {
        finish(cur, { key: 'chat.err.lost', params: { error: err.message } });
        return;
      }
      await sleep(retryDelay(attempt, 1000, 15000)); // the hub is unreachable: try again
    }
  }

  async function stopAnswer() {
    const cur = live;
    if (!cur || !cur.id || cur.stopping) return;
    cur.stopping = true;
    sync();
    try {
      await hub.stopGeneration(cur.id); // the stream then ends with done "stopped"
    } catch (e) {
      if (live === cur) {
        cur.stopping = false;
        sync();
      }
    }
  }

  // clear starts a new conversation, stopping an answer in progress.
  function clear() {
    const cur = live;
    live = null;
    if (cur) cur.end();
    if (cur && cur.id) hub.stopGeneration(cur.id).catch(() => {});
    st.messages = [];
    st.notes = [];
    st.running = null;
    persist();
    rebuild();
    sync();
    prompt.focus();
  }

  async function loadModels() {
    let ids = [];
    try { ids = await listModels(); } catch (e) { /* keep "default model": the hub picks */ }
    if (ids.length === 0) return;
    model.replaceChildren(...ids.map((id) => new Option(id, id)));
    model.value = ids.includes(st.model) ? st.model : ids[0];
    if (st.model !== model.value) {
      st.model = model.value;
      persist();
    }
  }

  prompt.addEventListener('keydown', (e) => {
    // Enter sends, Shift+Enter is a new line, and Enter that ends an input
    // method's composition (typing Chinese) only ends it.
    if (e.key !== 'Enter' || e.shiftKey || e.isComposing || e.keyCode === 229) return;
    e.preventDefault();
    ask();
  });
  send.addEventListener('click', ask);
  stop.addEventListener('click', stopAnswer);
  reset.addEventListener('click', clear);
  model.addEventListener('change', () => {
    st.model = model.value;
    persist();
  });

  rebuild();
  sync();
  loadModels();
  resume();

  return {
    // retranslate rewrites the answers' notes after a language switch.
    retranslate() {
      log.querySelectorAll('.chat-note').forEach((el) => {
        const note = noteOf.get(el);
        if (note) el.textContent = describe(note);
      });
    },
  };
}
