package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssehub/ssehub/internal/webhook"
)

// The cluster's webhook state (webhook.Cluster), under <prefix>:wh:
//
//	nodes        sorted set: node → when its lease lapses (ms, Redis's clock)
//	n:<node>     hash: subscriber id → its fields (JSON), per node
//	nt:<node>    hash: subscriber id → its topic selectors, NUL-separated
//	count        hash: topic selector → subscribers over all nodes
//	reaped:<node> set when the others ended some of node's subscribers
//	outbox       stream: the events to send, oldest first
//	outbytes     the bytes of the outbox's entries (each entry's z field)
//	lead         the node holding the outbox's lease
//
// Every change goes through one script, so the counts, the records and the
// outbox move together: a topic's count crossing 0↔1 appends
// topic.occupied or topic.vacated right behind the subscription event that
// caused it, in one order for the whole cluster. Topic selectors never
// hold NUL (the HTTP API refuses them).

// whPrelude is the start of every script: ARGV[1] is the prefix.
const whPrelude = `
local p = ARGV[1]
local nodes, counts, outbox = p .. ':wh:nodes', p .. ':wh:count', p .. ':wh:outbox'
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function split(s)
  local out, i = {}, 1
  while true do
    local j = string.find(s, '\0', i, true)
    if not j then
      out[#out + 1] = string.sub(s, i)
      return out
    end
    out[#out + 1] = string.sub(s, i, j - 1)
    i = j + 1
  end
end
local outbytes = p .. ':wh:outbytes'
local function emit(types, k, at, ...)
  if string.find(types, ',' .. k .. ',', 1, true) then
    local z = #k + #tostring(at)
    for _, v in ipairs({...}) do z = z + #v end
    redis.call('XADD', outbox, '*', 'k', k, 'a', at, 'z', z, ...)
    redis.call('INCRBY', outbytes, z)
  end
end
local function sizeOf(fields)
  for j = 1, #fields, 2 do
    if fields[j] == 'z' then return tonumber(fields[j + 1]) or 0 end
  end
  return 0
end
-- trim drops the oldest entries while the outbox holds more than maxOut of
-- them or more than maxBytes, and returns how many it dropped.
local function trim(maxOut, maxBytes)
  local n, b = redis.call('XLEN', outbox), tonumber(redis.call('GET', outbytes) or '0')
  local was, dropped = b, 0
  while n > 0 and (n > maxOut or b > maxBytes) do
    for _, e in ipairs(redis.call('XRANGE', outbox, '-', '+', 'COUNT', 256)) do
      if n <= maxOut and b <= maxBytes then break end
      redis.call('XDEL', outbox, e[1])
      n, b, dropped = n - 1, b - sizeOf(e[2]), dropped + 1
    end
  end
  if n == 0 or b < 0 then b = 0 end
  if b ~= was then redis.call('SET', outbytes, b) end
  return dropped
end
local function finish(node, sid, reason, at, types)
  local recs, tops = p .. ':wh:n:' .. node, p .. ':wh:nt:' .. node
  local body = redis.call('HGET', recs, sid)
  if not body then return false end
  local topics = redis.call('HGET', tops, sid)
  redis.call('HDEL', recs, sid)
  redis.call('HDEL', tops, sid)
  emit(types, 'subscription.ended', at, 'r', reason, 'b', body)
  if topics then
    for _, t in ipairs(split(topics)) do
      local c = redis.call('HINCRBY', counts, t, -1)
      if c <= 0 then
        redis.call('HDEL', counts, t)
        if c == 0 then emit(types, 'topic.vacated', at, 't', t) end
      end
    end
  end
  return true
end
`

// whApply: ARGV prefix, node, types (",a,b,"), max outbox, max outbox
// bytes, lease ms, n, then n × (type, subscriber, at ms, body, number of
// topics, topics...). It returns the events trimmed from the outbox.
var whApply = goredis.NewScript(whPrelude + `
local node, types, maxOut, maxBytes, ttl = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local recs, tops = p .. ':wh:n:' .. node, p .. ':wh:nt:' .. node
redis.call('ZADD', nodes, 'NX', now() + ttl, node)
local i = 8
for _ = 1, tonumber(ARGV[7]) do
  local typ, sid, at, body, nt = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4])
  local topics = {}
  for j = 1, nt do topics[j] = ARGV[i + 4 + j] end
  i = i + 5 + nt
  if typ == 'subscription.started' then
    if redis.call('HSETNX', recs, sid, body) == 1 then
      redis.call('HSET', tops, sid, table.concat(topics, '\0'))
      emit(types, typ, at, 'b', body)
      for _, t in ipairs(topics) do
        if redis.call('HINCRBY', counts, t, 1) == 1 then emit(types, 'topic.occupied', at, 't', t) end
      end
    end
  elseif typ == 'subscription.ended' then
    finish(node, sid, 'disconnected', at, types)
  else
    emit(types, typ, at, 'b', body)
  end
end
return trim(maxOut, maxBytes)
`)

// whReap: ARGV prefix, types, max outbox, max outbox bytes, max
// subscribers. It returns the lost node ("" for none), the subscribers it
// ended and the events trimmed.
var whReap = goredis.NewScript(whPrelude + `
local types, maxOut, maxBytes, max = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local t = now()
local dead = redis.call('ZRANGE', nodes, '-inf', t, 'BYSCORE', 'LIMIT', 0, 1)
if #dead == 0 then return {'', 0, 0} end
local node = dead[1]
local recs, tops = p .. ':wh:n:' .. node, p .. ':wh:nt:' .. node
local ended = 0
local sids = redis.call('HRANDFIELD', recs, max)
if #sids > 0 then redis.call('SET', p .. ':wh:reaped:' .. node, '1', 'PX', 86400000) end
for _, sid in ipairs(sids) do
  if finish(node, sid, 'node_lost', t, types) then ended = ended + 1 end
end
if redis.call('HLEN', recs) == 0 then
  redis.call('ZREM', nodes, node)
  redis.call('DEL', recs, tops)
end
return {node, ended, trim(maxOut, maxBytes)}
`)

// whHeartbeat: ARGV prefix, node, lease ms. It returns 1 when the node
// was reaped since the last heartbeat.
var whHeartbeat = goredis.NewScript(whPrelude + `
redis.call('ZADD', nodes, now() + tonumber(ARGV[3]), ARGV[2])
return redis.call('DEL', p .. ':wh:reaped:' .. ARGV[2])
`)

// whLeave: ARGV prefix, node.
var whLeave = goredis.NewScript(whPrelude + `
local node = ARGV[2]
local recs = p .. ':wh:n:' .. node
if redis.call('HLEN', recs) > 0 then return 0 end
redis.call('ZREM', nodes, node)
redis.call('DEL', recs, p .. ':wh:nt:' .. node, p .. ':wh:reaped:' .. node)
return 1
`)

// whLead: ARGV prefix, node, lease ms.
var whLead = goredis.NewScript(`
local key = ARGV[1] .. ':wh:lead'
local cur = redis.call('GET', key)
if cur and cur ~= ARGV[2] then return 0 end
redis.call('SET', key, ARGV[2], 'PX', ARGV[3])
return 1
`)

// whAck: ARGV prefix, node, ids...
var whAck = goredis.NewScript(whPrelude + `
if redis.call('GET', p .. ':wh:lead') ~= ARGV[2] then return 0 end
local gone = 0
for j = 3, #ARGV do
  for _, e in ipairs(redis.call('XRANGE', outbox, ARGV[j], ARGV[j])) do gone = gone + sizeOf(e[2]) end
end
redis.call('XDEL', outbox, unpack(ARGV, 3))
local b = redis.call('DECRBY', outbytes, gone)
if b < 0 or redis.call('XLEN', outbox) == 0 then redis.call('SET', outbytes, 0) end
return 1
`)

// whUnlead: ARGV prefix, node.
var whUnlead = goredis.NewScript(`
if redis.call('GET', ARGV[1] .. ':wh:lead') == ARGV[2] then redis.call('DEL', ARGV[1] .. ':wh:lead') end
return 1
`)

func (s *Store) wh(name string) string { return s.keys.prefix + ":wh:" + name }

// outboxBytes is the policy's bound on the outbox's bytes as the scripts
// take it: a very large one for none.
func outboxBytes(p webhook.Policy) int {
	if p.MaxOutboxBytes <= 0 {
		return 1 << 50
	}
	return p.MaxOutboxBytes
}

// typesArg is the list of types as the scripts look them up.
func typesArg(types []string) string { return "," + strings.Join(types, ",") + "," }

// ApplyPresence records node's changes and appends their events to the
// outbox (webhook.Cluster).
func (s *Store) ApplyPresence(ctx context.Context, node string, changes []webhook.Change, p webhook.Policy) (int, error) {
	args := []any{s.opts.Prefix, node, typesArg(p.Types), p.MaxOutbox, outboxBytes(p), p.NodeTimeout.Milliseconds(), len(changes)}
	for _, c := range changes {
		args = append(args, c.Type, c.Subscriber, c.At.UnixMilli(), c.Body, len(c.Topics))
		for _, t := range c.Topics {
			args = append(args, t)
		}
	}
	n, err := whApply.Run(ctx, s.rdb, nil, args...).Int()
	if err := s.note(err); err != nil {
		return 0, fmt.Errorf("redis webhook changes: %w", err)
	}
	return n, nil
}

// Heartbeat renews node's lease (webhook.Cluster).
func (s *Store) Heartbeat(ctx context.Context, node string, ttl time.Duration) (bool, error) {
	n, err := whHeartbeat.Run(ctx, s.rdb, nil, s.opts.Prefix, node, ttl.Milliseconds()).Int()
	if err := s.note(err); err != nil {
		return false, fmt.Errorf("redis webhook heartbeat: %w", err)
	}
	return n == 1, nil
}

// Recorded returns node's recorded subscribers (webhook.Cluster).
func (s *Store) Recorded(ctx context.Context, node string) ([]string, error) {
	ids, err := s.rdb.HKeys(ctx, s.wh("n:"+node)).Result()
	if err := s.note(err); err != nil {
		return nil, fmt.Errorf("redis webhook records: %w", err)
	}
	return ids, nil
}

// Reap ends subscribers of a node whose lease lapsed (webhook.Cluster).
func (s *Store) Reap(ctx context.Context, max int, p webhook.Policy) (string, int, int, error) {
	res, err := whReap.Run(ctx, s.rdb, nil, s.opts.Prefix, typesArg(p.Types), p.MaxOutbox, outboxBytes(p), max).Slice()
	if err := s.note(err); err != nil {
		return "", 0, 0, fmt.Errorf("redis webhook reap: %w", err)
	}
	if len(res) != 3 {
		return "", 0, 0, fmt.Errorf("redis webhook reap: %d results", len(res))
	}
	node, _ := res[0].(string)
	ended, _ := res[1].(int64)
	trimmed, _ := res[2].(int64)
	return node, int(ended), int(trimmed), nil
}

// Leave forgets node if it has no subscriber left (webhook.Cluster).
func (s *Store) Leave(ctx context.Context, node string) error {
	err := whLeave.Run(ctx, s.rdb, nil, s.opts.Prefix, node).Err()
	if err := s.note(err); err != nil {
		return fmt.Errorf("redis webhook leave: %w", err)
	}
	return nil
}

// Lead takes or renews the outbox's lease (webhook.Cluster).
func (s *Store) Lead(ctx context.Context, node string, ttl time.Duration) (bool, error) {
	n, err := whLead.Run(ctx, s.rdb, nil, s.opts.Prefix, node, ttl.Milliseconds()).Int()
	if err := s.note(err); err != nil {
		return false, fmt.Errorf("redis webhook lease: %w", err)
	}
	return n == 1, nil
}

// Unlead gives up the outbox's lease (webhook.Cluster).
func (s *Store) Unlead(ctx context.Context, node string) error {
	err := whUnlead.Run(ctx, s.rdb, nil, s.opts.Prefix, node).Err()
	if err := s.note(err); err != nil {
		return fmt.Errorf("redis webhook lease: %w", err)
	}
	return nil
}

// AckOutbox removes delivered events from the outbox (webhook.Cluster).
func (s *Store) AckOutbox(ctx context.Context, node string, ids []string) (bool, error) {
	if len(ids) == 0 {
		return true, nil
	}
	args := []any{s.opts.Prefix, node}
	for _, id := range ids {
		args = append(args, id)
	}
	n, err := whAck.Run(ctx, s.rdb, nil, args...).Int()
	if err := s.note(err); err != nil {
		return false, fmt.Errorf("redis webhook ack: %w", err)
	}
	return n == 1, nil
}

// ReadOutbox returns the oldest events of the outbox (webhook.Cluster).
// Delivered events are deleted, so the oldest left are the next to send.
func (s *Store) ReadOutbox(ctx context.Context, max int, wait time.Duration) ([]webhook.Entry, error) {
	res, err := s.rdb.XRead(ctx, &goredis.XReadArgs{Streams: []string{s.wh("outbox"), "0-0"}, Count: int64(max), Block: wait}).Result()
	if errors.Is(err, goredis.Nil) || ctx.Err() != nil {
		return nil, nil
	}
	if err := s.note(err); err != nil {
		return nil, fmt.Errorf("redis webhook outbox: %w", err)
	}
	if len(res) == 0 {
		return nil, nil
	}
	out := make([]webhook.Entry, 0, len(res[0].Messages))
	for _, m := range res[0].Messages {
		at, _ := strconv.ParseInt(field(m, "a"), 10, 64)
		e := webhook.Entry{ID: m.ID, Type: field(m, "k"), At: time.UnixMilli(at), Topic: field(m, "t"), Reason: field(m, "r")}
		if b := field(m, "b"); b != "" {
			e.Body = []byte(b)
		}
		out = append(out, e)
	}
	return out, nil
}

var _ webhook.Cluster = (*Store)(nil)
