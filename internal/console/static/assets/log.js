// log: the event log. Lines are kept as records (not HTML) so that they can be
// re-rendered after a language switch and saved in sessionStorage across reloads.
// Event data is only ever put into the page with textContent.

import { t } from './i18n.js';

// The field the seed demo showed after the message, per event type.
const EXTRA = { message: 'time', notification: 'priority', alert: 'level', update: 'id' };

// clock formats a Date as HH:MM:SS.
export function clock(d = new Date()) {
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

function str(v) { return typeof v === 'string' ? v : JSON.stringify(v); }

// describe turns an event's type and data into one line of text: JSON data with
// a "message" field is shown as "label: message (field: value)", anything else
// as the raw data.
export function describe(type, data) {
  let obj = null;
  try { obj = JSON.parse(data); } catch (e) { return data; }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj) || !('message' in obj)) return data;
  const msg = str(obj.message);
  const field = EXTRA[type];
  if (field) {
    const v = obj[field];
    const tail = v === undefined || v === null ? '' : ` (${t('field.' + field)}: ${str(v)})`;
    return `${t('ev.' + type)}: ${msg}${tail}`;
  }
  const extras = Object.keys(obj).filter((k) => k !== 'message').map((k) => `${k}: ${str(obj[k])}`);
  return `${type}: ${msg}` + (extras.length ? ` (${extras.join(', ')})` : '');
}

function span(cls, text) {
  const s = document.createElement('span');
  s.className = cls;
  s.textContent = text;
  return s;
}

function renderRecord(r) {
  const line = document.createElement('div');
  line.className = 'event-item';
  line.append(span('ts', `[${r.t}]`), ' ');
  if (r.kind === 'event') {
    line.dataset.type = r.type;
    line.dataset.id = r.id;
    line.append(span('eid', `#${r.id}`), ' ', span('etype', r.type), ' ', span('msg', describe(r.type, r.data)));
  } else {
    line.dataset.type = r.kind;
    line.dataset.key = r.key;
    line.append(span('msg', t(r.key, r.params)));
  }
  return line;
}

// createLog binds a log to the element el; records survive reloads under storageKey.
export function createLog(el, { storageKey = 'ssehub.console.log', max = 200 } = {}) {
  let records = load();
  const seen = new Set();
  let saveTimer = 0;
  records.forEach((r) => { if (r.kind === 'event') remember(r); });

  function load() {
    try {
      const v = JSON.parse(sessionStorage.getItem(storageKey) || '[]');
      return Array.isArray(v) ? v.slice(-max) : [];
    } catch (e) { return []; }
  }

  function save() {
    clearTimeout(saveTimer);
    saveTimer = 0;
    try { sessionStorage.setItem(storageKey, JSON.stringify(records)); } catch (e) { /* full: keep going */ }
  }

  function saveSoon() { if (!saveTimer) saveTimer = setTimeout(save, 150); }

  // A replay after a reconnect may repeat an event: the same id, type and data.
  function identity(r) { return `${r.id}\u0000${r.type}\u0000${r.data}`; }
  function remember(r) {
    seen.add(identity(r));
    if (seen.size > 4 * max) seen.delete(seen.values().next().value);
  }

  function append(r) {
    const stick = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
    records.push(r);
    el.append(renderRecord(r));
    while (records.length > max) {
      records.shift();
      el.firstElementChild?.remove();
    }
    if (stick) el.scrollTop = el.scrollHeight;
    saveSoon();
  }

  function render() {
    el.replaceChildren(...records.map(renderRecord));
    el.scrollTop = el.scrollHeight;
  }

  window.addEventListener('pagehide', save);
  render();

  return {
    system(key, params) { append({ kind: 'system', t: clock(), key, params }); },
    error(key, params) { append({ kind: 'error', t: clock(), key, params }); },
    // event logs a received event; it returns false for a repeat it already shows.
    event(type, id, data) {
      const r = { kind: 'event', t: clock(), type, id: id || '', data: String(data) };
      if (r.id && seen.has(identity(r))) return false;
      if (r.id) remember(r);
      append(r);
      return true;
    },
    clear() { records = []; el.replaceChildren(); save(); },
    render,
    get size() { return records.length; },
  };
}
