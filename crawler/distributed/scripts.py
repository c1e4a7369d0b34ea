"""The Lua scripts that keep each step of the shared crawl atomic in Redis."""

from __future__ import annotations

# Join the crawl: its run id (set by the first worker), a worker number, the heartbeat key.
# KEYS: run, seq, workers. ARGV: proposed run id, alive-key prefix, ttl ms, info, worker
# id to reuse ("" for a new one).
REGISTER = """
local run = redis.call('GET', KEYS[1])
if not run then run = ARGV[1]; redis.call('SET', KEYS[1], run) end
local worker = ARGV[5]
if worker == '' then worker = run .. '-w' .. redis.call('INCR', KEYS[2]) end
redis.call('SADD', KEYS[3], worker)
redis.call('SET', ARGV[2] .. worker, ARGV[4], 'PX', ARGV[3])
return {run, worker}
"""

# Enqueue the requests not seen before; the number enqueued. KEYS: dupefilter, queue.
# ARGV: (fingerprint ("" = dont_filter), score, request) triples.
PUSH = """
local added = 0
for i = 1, #ARGV, 3 do
  if ARGV[i] == '' or redis.call('SADD', KEYS[1], ARGV[i]) == 1 then
    redis.call('ZADD', KEYS[2], ARGV[i + 1], ARGV[i + 2])
    added = added + 1
  end
end
return added
"""

# Pop the best request into the worker's leases; the worker is busy from now on.
# KEYS: queue, leases, idle, alive. ARGV: worker. -1: the worker is no longer registered.
POP = """
if redis.call('EXISTS', KEYS[4]) == 0 then return -1 end
local m = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #m == 0 then return false end
redis.call('ZREM', KEYS[1], m[1])
local id = redis.sha1hex(m[1])
redis.call('HSET', KEYS[2], id, m[2] .. '|' .. m[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return {id, m[1]}
"""

# Claim a canonical URL for the worker's next row and, for a claimed row with a story
# hash, get the crawl's first copy of the story (this row's URL if it is the first).
# KEYS: claims, pending claims, alive, stories. ARGV: key, worker, hash or "", URL.
# {1, first copy or ""} claimed, {0, ""} someone has it, {-1, ""} no longer registered.
CLAIM = """
if redis.call('EXISTS', KEYS[3]) == 0 then return {-1, ''} end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return {0, ''} end
redis.call('SADD', KEYS[2], ARGV[1])
if ARGV[3] == '' then return {1, ''} end
redis.call('HSETNX', KEYS[4], ARGV[3], ARGV[4])
return {1, redis.call('HGET', KEYS[4], ARGV[3])}
"""

# Give back a claim whose row was not written. KEYS: claims, pending claims. ARGV: key,
# worker.
UNCLAIM = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
return redis.call('SREM', KEYS[2], ARGV[1])
"""

# Release the leases of requests whose work is published; mark the worker idle if asked
# and no lease is left. KEYS: leases, alive, idle. ARGV: idle timestamp or "", worker,
# lease ids... -1: no longer registered.
RELEASE = """
if redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
for i = 3, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
local left = redis.call('HLEN', KEYS[1])
if ARGV[1] ~= '' and left == 0 then redis.call('HSET', KEYS[3], ARGV[2], ARGV[1]) end
return left
"""

# A worker leaves: its leases go back to the queue, its unpublished claims are released, it
# is deregistered; a seeding it had not finished is undone. For a dead worker (ARGV[3] "0")
# only when its heartbeat key is gone and it is still registered (so one survivor does it).
# With ARGV[4] "1", a crawl left with no worker and an empty queue is deleted.
# KEYS: workers, queue, idle, claims, seed, then the crawl's keys. ARGV: worker, key prefix,
# self ("1") or dead ("0"), clean up ("1"/"0").
SURRENDER = """
local w, p = ARGV[1], ARGV[2]
if ARGV[3] ~= '1' then
  if redis.call('EXISTS', p .. 'alive:' .. w) == 1 then return false end
  if redis.call('SISMEMBER', KEYS[1], w) == 0 then return false end
end
local leases = redis.call('HVALS', p .. 'leases:' .. w)
for _, v in ipairs(leases) do
  local sep = string.find(v, '|', 1, true)
  redis.call('ZADD', KEYS[2], string.sub(v, 1, sep - 1), string.sub(v, sep + 1))
end
local released = 0
for _, key in ipairs(redis.call('SMEMBERS', p .. 'pclaims:' .. w)) do
  if redis.call('HGET', KEYS[4], key) == w then
    redis.call('HDEL', KEYS[4], key)
    released = released + 1
  end
end
redis.call('DEL', p .. 'leases:' .. w, p .. 'pclaims:' .. w, p .. 'alive:' .. w,
  p .. 'publishing:' .. w)
redis.call('SREM', KEYS[1], w)
redis.call('HDEL', KEYS[3], w)
local reseed = 0
if redis.call('GET', KEYS[5]) == 'seeding:' .. w then
  redis.call('DEL', KEYS[5])
  reseed = 1
end
local cleaned = 0
if ARGV[4] == '1' and redis.call('SCARD', KEYS[1]) == 0
    and redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('DEL', unpack(KEYS, 6))
  cleaned = 1
end
return {#leases, released, reseed, cleaned}
"""

# Seeding done, if this worker still holds the flag. KEYS: seed. ARGV: worker.
SEEDED = """
if redis.call('GET', KEYS[1]) == 'seeding:' .. ARGV[1] then
  redis.call('SET', KEYS[1], 'done:' .. ARGV[1])
  return 1
end
return 0
"""
