// app: wires the console's parts (i18n, log, connection, presence, publish, chat) to the page.

import * as i18n from './i18n.js';
import { createLog, clock } from './log.js';
import { createConnection, parseTopics, BASE_TYPES } from './connection.js';
import { publish, buildData, PublishError } from './publish.js';
import { createChat } from './chat.js';
import { createPresence } from './presence.js';
import { render as renderMarkdown } from './markdown.js';

const TYPE_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

const $ = (id) => document.getElementById(id);

function setStatus(state, labelKey) {
  const status = $('status');
  status.dataset.state = state;
  $('statusText').dataset.i18n = labelKey;
  $('statusText').textContent = i18n.t(labelKey);
  $('connectBtn').disabled = state !== 'disconnected';
  $('disconnectBtn').disabled = state === 'disconnected';
}

// addTypeOption puts a custom event type into the select, before "custom…".
function addTypeOption(type) {
  const select = $('eventType');
  if ([...select.options].some((o) => o.value === type)) return;
  const opt = new Option(type, type);
  select.insertBefore(opt, select.querySelector('option[value=""]'));
}

function showLastId(id) { $('lastId').textContent = id || '—'; }

function topicsFromField() {
  let topics = parseTopics($('topic').value);
  if (topics.length === 0) {
    topics = ['demo'];
    $('topic').value = 'demo';
  }
  return topics;
}

// chosenType returns the event type to send, or '' when the custom name is invalid.
function chosenType(conn) {
  const select = $('eventType');
  if (select.value) return select.value;
  const type = $('customType').value.trim();
  if (!TYPE_NAME.test(type)) return '';
  addTypeOption(type);
  select.value = type;
  $('customTypeField').hidden = true;
  conn.addType(type);
  return type;
}

function main() {
  i18n.apply();
  const log = createLog($('eventLog'));
  const presence = createPresence($('presence'), $('onlineCount'));
  const conn = createConnection({
    onState: (state, labelKey) => {
      setStatus(state, labelKey);
      if (state === 'connected') presence.start(conn.topics[0]);
      else if (state === 'disconnected') presence.stop();
    },
    onEvent: (type, id, data) => {
      log.event(type, id, data);
      showLastId(conn.lastId);
    },
    onSystem: (key, params) => log.system(key, params),
  });
  showLastId(conn.lastId);
  conn.types.filter((t) => !BASE_TYPES.includes(t)).forEach(addTypeOption);
  if (conn.topics.length) $('topic').value = conn.topics.join(', ');

  // Sends go out one after another, so events are published in click order.
  let queue = Promise.resolve();
  function send() {
    const type = chosenType(conn);
    if (!type) {
      log.error('err.badType');
      return;
    }
    const topic = topicsFromField()[0];
    const message = $('customMessage').value.trim() || i18n.t('msg.default', { type });
    const data = buildData(type, message, clock());
    queue = queue.then(async () => {
      try {
        const id = await publish({ topic, type, data });
        log.system('sys.published', { id, type, topic });
      } catch (e) {
        if (e instanceof PublishError && e.field) log.error('err.publishField', { error: e.message, field: e.field });
        else log.error('err.publish', { error: e.message });
      }
    });
  }

  $('connectBtn').addEventListener('click', () => conn.connect(topicsFromField()));
  $('disconnectBtn').addEventListener('click', () => conn.disconnect());
  $('sendBtn').addEventListener('click', send);
  $('customMessage').addEventListener('keydown', (e) => { if (e.key === 'Enter') send(); });
  $('eventType').addEventListener('change', () => {
    $('customTypeField').hidden = $('eventType').value !== '';
    if (!$('customTypeField').hidden) $('customType').focus();
  });
  $('clearBtn').addEventListener('click', () => log.clear());

  const chat = createChat({
    log: $('chatLog'), prompt: $('chatPrompt'), send: $('chatSend'), stop: $('chatStop'), reset: $('chatNew'), model: $('chatModel'),
  });

  $('langSwitch').addEventListener('click', () => i18n.toggle());
  i18n.onChange(() => {
    log.render();
    chat.retranslate();
  });

  if (!conn.resume() && log.size === 0) log.system('sys.loaded');
  showAuthMode();
}

// showAuthMode shows a banner when the hub runs in open development mode.
async function showAuthMode() {
  try {
    const resp = await fetch('/healthz', { cache: 'no-store' });
    const health = await resp.json();
    $('devBanner').dataset.auth = health.auth;
    $('devBanner').hidden = health.auth !== 'open-dev';
  } catch {
    // the banner is a hint; without /healthz the console works all the same
  }
}

// The Markdown renderer, for tests and the curious: render(text) → DocumentFragment.
window.ssehubMarkdown = Object.freeze({ render: renderMarkdown });

main();
