/*
 * src/types/cmdtable_zset.c - the sorted set commands' rows of the command table
 * (see cmd.h for the columns; arity, flags, keys and ACL categories are
 * Redis 7.0's). Handlers: src/types/t_zset_cmd.c, src/types/t_zset_range.c.
 */
#include "cmd/cmd.h"
#include "types/t_zset.h"
#include "cmd/rows.h"

#define RS "read sortedset slow"
#define RF "read sortedset fast"

const struct command cmd_table_zset[] = {
    {"zadd", -4, W | OOM | F | CMD_MEMBER_LAST, 1, 1, 1, cmd_zadd, "sorted-set", "1.2.0",
     "Adds one or more members to a sorted set, or updates their scores. Creates the key if it "
     "doesn't exist.",
     "key [NX|XX]:condition [GT|LT]:comparison [CH] [INCR] score:double member "
     "[score:double member ...]",
     "write sortedset fast", NULL},
    {"zincrby", 4, W | OOM | F | CMD_MEMBER_LAST, 1, 1, 1, cmd_zincrby, "sorted-set", "1.2.0",
     "Increments the score of a member in a sorted set.", "key increment member",
     "write sortedset fast", NULL},
    {"zrem", -3, W | F | CMD_ABSENT_NOOP | CMD_MEMBER_ARG, 1, 1, 1, cmd_zrem, "sorted-set", "1.2.0",
     "Removes one or more members from a sorted set. Deletes the sorted set if all members were "
     "removed.",
     "key member [member ...]", "write sortedset fast", NULL},
    {"zcard", 2, R | F, 1, 1, 1, cmd_zcard, "sorted-set", "1.2.0",
     "Returns the number of members in a sorted set.", "key", RF, NULL},
    {"zscore", 3, R | F, 1, 1, 1, cmd_zscore, "sorted-set", "1.2.0",
     "Returns the score of a member in a sorted set.", "key member", RF, NULL},
    {"zmscore", -3, R | F, 1, 1, 1, cmd_zmscore, "sorted-set", "6.2.0",
     "Returns the score of one or more members in a sorted set.", "key member [member ...]", RF,
     NULL},
    {"zrank", 3, R | F, 1, 1, 1, cmd_zrank, "sorted-set", "2.0.0",
     "Returns the index of a member in a sorted set ordered by ascending scores.", "key member", RF,
     NULL},
    {"zrevrank", 3, R | F, 1, 1, 1, cmd_zrevrank, "sorted-set", "2.0.0",
     "Returns the index of a member in a sorted set ordered by descending scores.", "key member",
     RF, NULL},
    {"zcount", 4, R | F, 1, 1, 1, cmd_zcount, "sorted-set", "2.0.0",
     "Returns the count of members in a sorted set that have scores within a range.",
     "key min:double max:double", RF, NULL},
    {"zlexcount", 4, R | F, 1, 1, 1, cmd_zlexcount, "sorted-set", "2.8.9",
     "Returns the number of members in a sorted set within a lexicographical range.",
     "key min:string max:string", RF, NULL},
    {"zrange", -4, R, 1, 1, 1, cmd_zrange, "sorted-set", "1.2.0",
     "Returns members in a sorted set within a range of indexes.",
     "key start:string stop:string [BYSCORE|BYLEX]:sortby [REV] [LIMIT offset count] "
     "[WITHSCORES]",
     RS, NULL},
    {"zrangestore", -5, W | OOM, 1, 2, 1, cmd_zrangestore, "sorted-set", "6.2.0",
     "Stores a range of members from sorted set in a key.",
     "dst:key src:key min:string max:string [BYSCORE|BYLEX]:sortby [REV] [LIMIT offset count]",
     "write sortedset slow", NULL},
    {"zrevrange", -4, R, 1, 1, 1, cmd_zrevrange, "sorted-set", "1.2.0",
     "Returns members in a sorted set within a range of indexes in reverse order.",
     "key start stop [WITHSCORES]", RS, NULL},
    {"zrangebyscore", -4, R, 1, 1, 1, cmd_zrangebyscore, "sorted-set", "1.0.5",
     "Returns members in a sorted set within a range of scores.",
     "key min:double max:double [WITHSCORES] [LIMIT offset count]", RS, NULL},
    {"zrevrangebyscore", -4, R, 1, 1, 1, cmd_zrevrangebyscore, "sorted-set", "2.2.0",
     "Returns members in a sorted set within a range of scores in reverse order.",
     "key max:double min:double [WITHSCORES] [LIMIT offset count]", RS, NULL},
    {"zrangebylex", -4, R, 1, 1, 1, cmd_zrangebylex, "sorted-set", "2.8.9",
     "Returns members in a sorted set within a lexicographical range.",
     "key min:string max:string [LIMIT offset count]", RS, NULL},
    {"zrevrangebylex", -4, R, 1, 1, 1, cmd_zrevrangebylex, "sorted-set", "2.8.9",
     "Returns members in a sorted set within a lexicographical range in reverse order.",
     "key max:string min:string [LIMIT offset count]", RS, NULL},
    {"zremrangebyrank", 4, W | CMD_ABSENT_NOOP, 1, 1, 1, cmd_zremrangebyrank, "sorted-set", "2.0.0",
     "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all "
     "members were removed.",
     "key start stop", "write sortedset slow", NULL},
    {"zremrangebyscore", 4, W | CMD_ABSENT_NOOP, 1, 1, 1, cmd_zremrangebyscore, "sorted-set",
     "1.2.0",
     "Removes members in a sorted set within a range of scores. Deletes the sorted set if all "
     "members were removed.",
     "key min:double max:double", "write sortedset slow", NULL},
    {"zremrangebylex", 4, W | CMD_ABSENT_NOOP, 1, 1, 1, cmd_zremrangebylex, "sorted-set", "2.8.9",
     "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if "
     "all members were removed.",
     "key min:string max:string", "write sortedset slow", NULL},
    {"zpopmin", -2, W | F | CMD_ABSENT_NOOP, 1, 1, 1, cmd_zpopmin, "sorted-set", "5.0.0",
     "Returns the lowest-scoring members from a sorted set after removing them. Deletes the "
     "sorted set if the last member was popped.",
     "key [count]", "write sortedset fast", NULL},
    {"zpopmax", -2, W | F | CMD_ABSENT_NOOP, 1, 1, 1, cmd_zpopmax, "sorted-set", "5.0.0",
     "Returns the highest-scoring members from a sorted set after removing them. Deletes the "
     "sorted set if the last member was popped.",
     "key [count]", "write sortedset fast", NULL},
    {"bzpopmin", -3, W | F | CMD_BLOCKING | CMD_NOSCRIPT, 1, -2, 1, cmd_bzpopmin, "sorted-set",
     "5.0.0",
     "Remove and return the member with the lowest score from one or more sorted sets, or block "
     "until one is available",
     "key [key ...] timeout:double", "write sortedset fast blocking", NULL},
    {"bzpopmax", -3, W | F | CMD_BLOCKING | CMD_NOSCRIPT, 1, -2, 1, cmd_bzpopmax, "sorted-set",
     "5.0.0",
     "Remove and return the member with the highest score from one or more sorted sets, or block "
     "until one is available",
     "key [key ...] timeout:double", "write sortedset fast blocking", NULL},
    {"zrandmember", -2, R | CMD_RANDOM, 1, 1, 1, cmd_zrandmember, "sorted-set", "6.2.0",
     "Returns one or more random members from a sorted set.", "key [count [WITHSCORES]]:options",
     RS, NULL},
    {"zscan", -3, R | CMD_RANDOM, 1, 1, 1, cmd_zscan, "sorted-set", "2.8.0",
     "Iterates over members and scores of a sorted set.",
     "key cursor [MATCH pattern] [COUNT count]", RS, NULL},
    {"zunion", -3, R, 0, 0, 0, cmd_zunion, "sorted-set", "6.2.0",
     "Returns the union of multiple sorted sets.",
     "numkeys:integer key [key ...] [WEIGHTS weight:integer [weight:integer ...]] "
     "[AGGREGATE <SUM|MIN|MAX>:aggregate] [WITHSCORES]",
     RS, NULL, NULL, t_zset_numkeys_keys},
    {"zunionstore", -4, W | OOM, 1, 1, 1, cmd_zunionstore, "sorted-set", "2.0.0",
     "Stores the union of multiple sorted sets in a key.",
     "destination numkeys:integer key [key ...] [WEIGHTS weight:integer [weight:integer ...]] "
     "[AGGREGATE <SUM|MIN|MAX>:aggregate]",
     "write sortedset slow", NULL, NULL, t_zset_store_keys},
    {"zinter", -3, R, 0, 0, 0, cmd_zinter, "sorted-set", "6.2.0",
     "Returns the intersect of multiple sorted sets.",
     "numkeys:integer key [key ...] [WEIGHTS weight:integer [weight:integer ...]] "
     "[AGGREGATE <SUM|MIN|MAX>:aggregate] [WITHSCORES]",
     RS, NULL, NULL, t_zset_numkeys_keys},
    {"zinterstore", -4, W | OOM, 1, 1, 1, cmd_zinterstore, "sorted-set", "2.0.0",
     "Stores the intersect of multiple sorted sets in a key.",
     "destination numkeys:integer key [key ...] [WEIGHTS weight:integer [weight:integer ...]] "
     "[AGGREGATE <SUM|MIN|MAX>:aggregate]",
     "write sortedset slow", NULL, NULL, t_zset_store_keys},
    {"zdiff", -3, R, 0, 0, 0, cmd_zdiff, "sorted-set", "6.2.0",
     "Returns the difference between multiple sorted sets.",
     "numkeys:integer key [key ...] [WITHSCORES]", RS, NULL, NULL, t_zset_numkeys_keys},
    {"zdiffstore", -4, W | OOM, 1, 1, 1, cmd_zdiffstore, "sorted-set", "6.2.0",
     "Stores the difference of multiple sorted sets in a key.",
     "destination numkeys:integer key [key ...]", "write sortedset slow", NULL, NULL,
     t_zset_store_keys},
    {"zintercard", -3, R, 0, 0, 0, cmd_zintercard, "sorted-set", "7.0.0",
     "Returns the number of members of the intersect of multiple sorted sets.",
     "numkeys:integer key [key ...] [LIMIT limit:integer]", RS, NULL, NULL, t_zset_numkeys_keys},
    {"zmpop", -4, W | CMD_ABSENT_NOOP, 0, 0, 0, cmd_zmpop, "sorted-set", "7.0.0",
     "Returns the highest- or lowest-scoring members from one or more sorted sets after removing "
     "them. Deletes the sorted set if the last member was popped.",
     "numkeys:integer key [key ...] <MIN|MAX>:where [COUNT count]", "write sortedset slow", NULL,
     NULL, t_zset_numkeys_keys},
    {"bzmpop", -5, W | CMD_BLOCKING, 0, 0, 0, cmd_bzmpop, "sorted-set", "7.0.0",
     "Remove and return members with scores in a sorted set or block until one is available",
     "timeout:double numkeys:integer key [key ...] <MIN|MAX>:where [COUNT count]",
     "write sortedset slow blocking", NULL, NULL, t_zset_bzmpop_keys},
    CMD_ROWS_END,
};
