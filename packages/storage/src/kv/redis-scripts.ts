import { LuaScript } from '../redis/connection.js';

// Each script touches one key (KEYS[1]), so it runs atomically on a single server and on the
// node that owns the key's slot in a Cluster. An empty TTL argument means "no expiry".

/** ARGV: expected, next, ttlMs. Returns 1 when written. GET raises WRONGTYPE on a set. */
export const compareAndSetScript = new LuaScript(`
local current = redis.call('GET', KEYS[1])
if current ~= ARGV[1] then return 0 end
if ARGV[3] == '' then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
`);

/** ARGV: by, ttlMs. The TTL is set only when this call creates the counter. */
export const incrementScript = new LuaScript(`
local created = redis.call('EXISTS', KEYS[1]) == 0
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if created and ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value
`);

/** ARGV: ttlMs, member... Returns how many members were new. */
export const setAddScript = new LuaScript(`
local added = 0
for i = 2, #ARGV do added = added + redis.call('SADD', KEYS[1], ARGV[i]) end
if ARGV[1] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return added
`);

/** ARGV: ttlMs. Returns 1 when the key existed. */
export const expireScript = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] == '' then redis.call('PERSIST', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1
`);
