// Node's own HTTP/2 client (node:http2, no npm package) as a real client of
// the hub's HTTP/2: one session, SSEHUB_TABS event streams on it (a
// browser's tabs), and a publish on the same session. It prints one JSON
// line per event received: {"tab", "id", "data"}. Tab 0 closes its stream
// (RST_STREAM) after its first event; the others read SSEHUB_COUNT events.
// The hub is SSEHUB_URL; its certificate comes with NODE_EXTRA_CA_CERTS.
import http2 from 'node:http2';

const base = process.env.SSEHUB_URL;
const tabs = Number(process.env.SSEHUB_TABS || 3);
const count = Number(process.env.SSEHUB_COUNT || 2);
const session = http2.connect(base);
session.on('error', (e) => { console.error('session:', e.message); process.exit(1); });
let open = 0;
let left = tabs;

function subscribe(tab) {
  const req = session.request({ ':path': '/.well-known/mercure?topic=h2', accept: 'text/event-stream' });
  req.setEncoding('utf8');
  let buf = '';
  let got = 0;
  req.on('response', (headers) => {
    if (headers[':status'] !== 200) { console.error('status', headers[':status']); process.exit(1); }
    if (++open === tabs) console.error('ready');
  });
  req.on('data', (chunk) => {
    buf += chunk;
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const ev = { tab, id: '', data: [] };
      for (const line of block.split('\n')) {
        if (line.startsWith('id: ')) ev.id = line.slice(4);
        if (line.startsWith('data: ')) ev.data.push(line.slice(6));
      }
      if (ev.data.length === 0) continue;
      console.log(JSON.stringify({ tab, id: ev.id, data: ev.data.join('\n') }));
      got++;
      if ((tab === 0 && got === 1) || got === count) {
        req.close(http2.constants.NGHTTP2_CANCEL);
        if (--left === 0) session.close(() => process.exit(0));
      }
    }
  });
  req.on('error', (e) => { console.error(`tab ${tab}:`, e.message); process.exit(1); });
}

for (let i = 0; i < tabs; i++) subscribe(i);

// Publish on the same session, one after the other, once asked (lines on stdin).
function publish(data) {
  return new Promise((resolve) => {
    const body = new URLSearchParams({ topic: 'h2', data }).toString();
    const req = session.request({ ':method': 'POST', ':path': '/.well-known/mercure', 'content-type': 'application/x-www-form-urlencoded' });
    req.on('response', (h) => { if (h[':status'] !== 200) { console.error('publish status', h[':status']); process.exit(1); } });
    req.on('error', (e) => { console.error('publish:', e.message); process.exit(1); });
    req.on('end', resolve);
    req.resume();
    req.end(body);
  });
}

process.stdin.setEncoding('utf8');
let queue = Promise.resolve();
process.stdin.on('data', (lines) => {
  for (const data of lines.split('\n').filter(Boolean)) queue = queue.then(() => publish(data));
});
