// publish: sends events to the hub with POST /publish.

// PublishError is a refused publish: the hub's {"error", "field"} answer.
export class PublishError extends Error {
  constructor(message, field, status) {
    super(message);
    this.name = 'PublishError';
    this.field = field || '';
    this.status = status;
  }
}

// buildData is the data of a console test event, shaped like the seed demo's.
export function buildData(type, message, time) {
  const data = { message, time };
  switch (type) {
    case 'notification': data.priority = 'high'; break;
    case 'alert': data.level = 'warning'; break;
    case 'update': data.id = 1000 + Math.floor(Math.random() * 9000); break;
    default: break;
  }
  return data;
}

// publish posts one event and resolves to its id; a refusal rejects with a
// PublishError, a network failure with the fetch error.
export async function publish({ topic, type, data }) {
  const body = { topic, data };
  if (type && type !== 'message') body.type = type;
  const res = await fetch('/publish', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Accept': 'text/plain, application/json' },
    body: JSON.stringify(body),
  });
  const text = (await res.text()).trim();
  if (res.ok) return text;
  let error = text || `HTTP ${res.status}`;
  let field = '';
  try {
    const j = JSON.parse(text);
    if (j && typeof j.error === 'string') {
      error = j.error;
      field = typeof j.field === 'string' ? j.field : '';
    }
  } catch (e) { /* not JSON: keep the text */ }
  throw new PublishError(error, field, res.status);
}
