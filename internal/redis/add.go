package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssehub/ssehub/internal/hub"
)

// addScript stores a batch of updates atomically in order: for each, it
// numbers it (the count key), appends it to each of its topics' streams
// and, under the same Redis-generated entry id, a reference to it to the
// log (its first topic; the payload itself only for an update without
// topics), and records a publisher-chosen id. Being one script, no other
// node's publish interleaves, so the log order is the same for everyone.
// Each payload is stored once per topic: the log holds where to find it.
//
// A topic's stream therefore never drops an entry the log still refers
// to: it keeps its last topic length entries and, besides, whatever is not
// older than the log's oldest entry (trimTopic; the log is trimmed by age
// exactly, so a topic's age trim, approximate, never passes the log's
// oldest). Lengths are checked when a batch's numbers cross a multiple of
// 16 (so a topic holds at most its length + 116), and a topic left over
// its length is noted in the over set, scored by its oldest entry's
// milliseconds; when the numbers cross a multiple of 64, up to four topics
// the log has moved past are trimmed, so a quiet topic does not keep a
// busy window. A trim removes at most 1,000 entries, so that no call
// stalls Redis on a topic the log left far behind: the rest goes at the
// next sweeps. Each Redis call from Lua costs several microseconds: the
// checks are spread out rather than made at every publish.
//
// ARGV: prefix, log length, topic length, min id ("" for no age bound),
// topic ttl ms, custom id ttl ms, "1" to put the payloads in the log too
// (a node of an earlier version follows it: legacy.go), n, then n ×
// (payload, custom id, number of topics, topics...). It returns the epoch
// followed by the entry ids.
var addScript = goredis.NewScript(`
local p = ARGV[1]
local epoch = redis.call('GET', p .. ':epoch')
if not epoch then return redis.error_reply('NOEPOCH the shared epoch is missing') end
local log, over = p .. ':log', p .. ':over'
local logMax, topicMax, minID, ttl, idTTL, full = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local out, touched, seen = {epoch}, {}, {}
local last = 0
local i = 9
for k = 1, tonumber(ARGV[8]) do
  local payload, custom, nt = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  i = i + 3
  local c = redis.call('INCR', p .. ':count')
  last = c
  local id
  if nt == 0 or full == '1' then
    id = redis.call('XADD', log, 'MAXLEN', '~', logMax, '*', 'e', epoch, 'c', c, 'u', payload)
  else
    id = redis.call('XADD', log, 'MAXLEN', '~', logMax, '*', 'e', epoch, 'c', c, 't', ARGV[i])
  end
  for t = 1, nt do
    local key = p .. ':t:' .. ARGV[i]
    i = i + 1
    redis.call('XADD', key, id, 'e', epoch, 'u', payload)
    if not seen[key] then seen[key] = true; touched[#touched + 1] = key end
  end
  if custom ~= '' then redis.call('SET', p .. ':id:' .. custom, id, 'PX', idTTL) end
  out[#out + 1] = id
end
if minID ~= '' then redis.call('XTRIM', log, 'MINID', minID) end
local before = last - tonumber(ARGV[8]) -- the count before this batch
local function crossed(every) return math.floor(last / every) > math.floor(before / every) end
local checkLengths, sweep = crossed(16), crossed(64)
if not checkLengths and minID == '' then return out end
local oldest, oldestMs
local function findOldest()
  if oldest then return true end
  local f = redis.call('XRANGE', log, '-', '+', 'COUNT', 1)[1]
  if not f then return false end
  oldest, oldestMs = f[1], tonumber(string.match(f[1], '^%d+'))
  return true
end
local function trimTopic(key)
  local n = redis.call('XLEN', key)
  if n > topicMax then
    local gone = redis.call('XRANGE', key, '-', '(' .. oldest, 'COUNT', math.min(n - topicMax, 1000))
    if #gone > 0 then
      n = n - #gone
      redis.call('XTRIM', key, 'MAXLEN', n)
    end
  end
  if n > topicMax then
    local f = redis.call('XRANGE', key, '-', '+', 'COUNT', 1)[1]
    redis.call('ZADD', over, tonumber(string.match(f[1], '^%d+')), key)
  else
    redis.call('ZREM', over, key)
  end
end
for _, key in ipairs(touched) do
  if checkLengths and redis.call('XLEN', key) > topicMax + 100 and findOldest() then trimTopic(key) end
  if minID ~= '' then
    redis.call('XTRIM', key, 'MINID', '~', minID)
    redis.call('PEXPIRE', key, ttl)
  end
end
if sweep and findOldest() then
  for _, key in ipairs(redis.call('ZRANGEBYSCORE', over, '-inf', '(' .. oldestMs, 'LIMIT', 0, 4)) do
    trimTopic(key)
  end
end
return out
`)

// Add stores the updates in the log and their topics' histories, setting
// each one's Seq, ID and Time (hub.Log). It returns only once Redis has
// them. Concurrent calls are committed together: the store's committer
// takes every waiting batch into one script call, so a busy node makes one
// round trip for many publishes. Once queued, a batch is stored even if
// ctx ends meanwhile.
func (s *Store) Add(ctx context.Context, us []*hub.Update) error {
	req := &addRequest{us: us, done: make(chan struct{})}
	select {
	case s.adds <- req:
	case <-s.closed:
		return errStoreClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	<-req.done
	return req.err
}

// addRequest is one Add waiting for the committer.
type addRequest struct {
	us   []*hub.Update
	err  error
	done chan struct{}
}

// maxCommit is the most updates one script call stores.
const maxCommit = 1000

// commitTimeout bounds one script call.
const commitTimeout = 10 * time.Second

// committers is how many script calls a node keeps in flight: while one
// call makes its round trip, the next batch gathers and goes out.
const committers = 4

// commit runs until the store closes, storing the waiting batches in as
// few script calls as the round trips allow.
func (s *Store) commit() {
	for {
		select {
		case <-s.closed:
			return
		case req := <-s.adds:
			s.commitAll(s.gather(req))
		}
	}
}

// gather takes the requests already waiting behind first, up to maxCommit
// updates in all.
func (s *Store) gather(first *addRequest) []*addRequest {
	reqs, n := []*addRequest{first}, len(first.us)
	for n < maxCommit {
		select {
		case req := <-s.adds:
			reqs, n = append(reqs, req), n+len(req.us)
		default:
			return reqs
		}
	}
	return reqs
}

// commitAll stores the requests' updates in one script call and answers
// every request.
func (s *Store) commitAll(reqs []*addRequest) {
	var us []*hub.Update
	for _, r := range reqs {
		us = append(us, r.us...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	err := s.store(ctx, us)
	cancel()
	for _, r := range reqs {
		r.err = err
		close(r.done)
	}
}

// store runs the add script for us. A Redis that lost its data (no epoch)
// gets a new epoch and the script runs once more.
func (s *Store) store(ctx context.Context, us []*hub.Update) error {
	now := time.Now()
	for _, u := range us {
		u.Time = now
	}
	args := s.addArgs(us)
	res, acked, err := s.runAdd(ctx, args)
	if err != nil && strings.HasPrefix(err.Error(), "NOEPOCH") {
		if _, err = s.ensureEpoch(ctx); err == nil {
			res, acked, err = s.runAdd(ctx, args)
		}
	}
	if err := s.writes.Note(s.note(err)); err != nil {
		return fmt.Errorf("redis add: %w", err)
	}
	if err := assignIDs(us, res); err != nil {
		return err
	}
	if acked < int64(s.opts.Replicas) {
		s.unreplicated.Add(1)
		return fmt.Errorf("redis add: %w: %d of %d acknowledged within %v", ErrNotReplicated, acked, s.opts.Replicas, s.opts.ReplicaTimeout)
	}
	return nil
}

// ErrNotReplicated is a commit that fewer replicas than Options.Replicas
// acknowledged in time: its updates are on the primary (and delivered),
// but a failover now could lose them.
var ErrNotReplicated = errors.New("stored on the Redis primary but not confirmed by enough replicas")

// runAdd runs the add script. With Options.Replicas, a WAIT follows the
// script down the same connection (WAIT counts the replicas that have the
// writes of its own connection), and runAdd also returns how many replicas
// acknowledged them.
func (s *Store) runAdd(ctx context.Context, args []any) (res []string, acked int64, err error) {
	if s.opts.Replicas == 0 {
		res, err = addScript.Run(ctx, s.rdb, nil, args...).StringSlice()
		return res, 0, err
	}
	for loaded := false; ; loaded = true {
		var run, wait *goredis.Cmd
		// Each command carries its own error (a failed connection fails
		// both), read below; the pipeline's is the first of them.
		_, _ = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
			run = addScript.EvalSha(ctx, p, nil, args...)
			wait = p.Do(ctx, "WAIT", s.opts.Replicas, s.opts.ReplicaTimeout.Milliseconds())
			return nil
		})
		if !loaded && goredis.HasErrorPrefix(run.Err(), "NOSCRIPT") {
			if err := addScript.Load(ctx, s.rdb).Err(); err != nil {
				return nil, 0, err
			}
			continue // a Redis that has not seen the script yet, or lost it
		}
		if res, err = run.StringSlice(); err != nil {
			return nil, 0, err
		}
		acked, err = wait.Int64()
		return res, acked, err
	}
}

// assignIDs sets the positions and ids the script returned: the epoch,
// then one entry id per update.
func assignIDs(us []*hub.Update, res []string) error {
	if len(res) != len(us)+1 {
		return fmt.Errorf("redis add: %d results for %d updates", len(res), len(us))
	}
	epoch := res[0]
	for i, u := range us {
		seq, err := seqOf(res[i+1])
		if err != nil {
			return fmt.Errorf("redis add: %w", err)
		}
		u.Seq = seq
		if u.ID == "" {
			u.ID = hub.FormatID(epoch, seq)
		}
	}
	return nil
}

// addArgs lays out the script's arguments. The stored payload carries the
// publisher's id only; generated ids are derived from the entry id.
func (s *Store) addArgs(us []*hub.Update) []any {
	minID, ttl, idTTL := "", int64(0), DefaultIDTTL.Milliseconds()
	if age := s.opts.MaxAge; age > 0 {
		minID = strconv.FormatInt(time.Now().Add(-age).UnixMilli(), 10)
		ttl, idTTL = age.Milliseconds(), age.Milliseconds()
	}
	full := "0"
	if s.legacy.Load() {
		full = "1"
	}
	args := []any{s.opts.Prefix, s.opts.LogLength, s.opts.MaxEvents, minID, ttl, idTTL, full, len(us)}
	for _, u := range us {
		payload, _ := u.MarshalBinary() // never fails
		// One entry id goes into a stream once.
		topics := hub.DistinctTopics(u.Topics)
		args = append(args, payload, u.ID, len(topics))
		for _, t := range topics {
			args = append(args, t)
		}
	}
	return args
}

var errStoreClosed = errors.New("redis store closed")
