#!lua flags=no-writes,allow-stale
-- Raft health for prometheus-redis-exporter's --script option: it runs this
-- script with EVAL on every scrape and exports each returned key/value pair
-- as redis_script_values{key="<key>"} <value>. A read-only script (the
-- shebang's no-writes), so a follower runs it too.
--
-- Every numeric field of INFO raft (RAFT.INFO's text) is returned under its
-- own name (current_term, commit_index, last_applied_index, fsync_count,
-- fsync_avg_microseconds, fsync_max_microseconds, ...), and the text
-- fields as numbers: is_leader (1 on the leader: raft_role:leader), state_up (1 when
-- state:up), is_voting (1 or 0), term_exhausted (1 when the term is at its
-- ceiling: docs/operations.md), leader_known (1 when leader_id is not -1).
local info = redis.call('INFO', 'raft')
local out = {}
local function put(k, v)
    out[#out + 1] = k
    out[#out + 1] = tostring(v)
end
for line in string.gmatch(info, '[^\r\n]+') do
    local k, v = string.match(line, '^([%w_]+):(.*)$')
    if k and not string.match(k, '^node%d+$') then
        if string.match(v, '^%-?%d+$') then
            put(k, v)
            if k == 'leader_id' then put('leader_known', v ~= '-1' and 1 or 0) end
        elseif k == 'raft_role' then
            put('is_leader', v == 'leader' and 1 or 0)
        elseif k == 'state' then
            put('state_up', v == 'up' and 1 or 0)
        elseif k == 'is_voting' then
            put('is_voting', v == 'yes' and 1 or 0)
        elseif k == 'term_exhausted' then
            put('term_exhausted', v == 'yes' and 1 or 0)
        end
    end
end
return out
