// llm: the models the hub serves. Generations themselves (start, read,
// resume, stop) go through the hub's client: hub.generate and friends.

// listModels resolves to the ids of the models the hub serves, default first.
export async function listModels() {
  const res = await fetch('/v1/models', { headers: { 'Accept': 'application/json' }, cache: 'no-store' });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const list = await res.json();
  return list && Array.isArray(list.data) ? list.data.map((m) => String(m && m.id || '')).filter(Boolean) : [];
}
