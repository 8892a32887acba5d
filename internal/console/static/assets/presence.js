// presence: how many subscribers the console's topic has, from the hub's
// active subscriptions (ssehub -subscriptions). Shown while connected, as
// the hub lists them every 2 s; hidden when the hub has them off or does
// not show them to this page (it answers loopback clients in open
// development mode, token holders otherwise).

const LIST = '/.well-known/mercure/subscriptions/';
const EVERY = 2000;

// escape encodes a topic selector as a path segment of the list (RFC 6570:
// everything but letters, digits and -._~).
const escape = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

// createPresence shows the count in countEl, inside el.
export function createPresence(el, countEl) {
  let timer = null;
  let topic = '';

  async function poll() {
    const asked = topic;
    try {
      const resp = await fetch(LIST + escape(asked), { cache: 'no-store' });
      if (asked !== topic || timer === null) return; // stopped or moved on meanwhile
      if (!resp.ok) {
        el.dataset.presence = 'off';
        stop();
        return;
      }
      const list = await resp.json();
      countEl.textContent = String(new Set(list.subscriptions.map((s) => s.subscriber)).size);
      el.dataset.presence = 'on';
      el.hidden = false;
    } catch {
      // a network error: keep the last count, the next poll tries again
    }
  }

  function stop() {
    clearInterval(timer);
    timer = null;
    el.hidden = true;
  }

  return {
    // start follows topic's subscribers.
    start(t) {
      stop();
      topic = t;
      timer = setInterval(poll, EVERY);
      poll();
    },
    stop,
  };
}
