/*
 * src/kv.h - the keyspace: one database of binary-safe string values with
 * optional absolute expiry times, on top of struct dict (src/dict.h).
 *
 * Owns: every key (copied into its dict entry) and every value (one
 * struct kv_val allocation per key, header and bytes together). Keys with a
 * TTL are also indexed in a second dict, `volatile_keys` (key -> the main
 * dict's entry, which stays put while the key lives), so the active expiry
 * sampler only ever looks at keys that can expire, as Redis's expires dict.
 *
 * Time: nothing here reads a clock. Every lookup takes now_ms, and a key
 * whose expire_ms <= now_ms is logically absent.
 *   - Read lookups (kv_lookup_read, kv_exists) never change the keyspace:
 *     they only hide an expired key. Read commands run on any node with the
 *     local wall clock, so they must not diverge the replicas.
 *   - Write lookups and every mutator first delete an expired key they meet
 *     (counting expired_keys, firing on_modify), like Redis's
 *     lookupKeyWrite. They run in the deterministic apply path, where now_ms
 *     is the log entry's timestamp, so every replica deletes the same keys.
 *
 * Hooks: on_modify(key) fires AFTER every change to a key (set, overwrite,
 * delete, TTL change, deletion of an expired key, both names of a rename);
 * on_flush fires BEFORE kv_flush empties the keyspace (the WATCH index needs
 * to see what was there). Hooks must not modify the keyspace.
 *
 * Borrowed pointers: a struct kv_val * returned by a lookup is valid until
 * the next call that may modify the keyspace (any non-const kv_ call except
 * kv_lookup_read / kv_exists / kv_physically_exists).
 */
#ifndef KV_H
#define KV_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include "dict.h"
#include "../resp/parser.h"

#define KV_NO_EXPIRE (-1) /* kv_val.expire_ms of a persistent key */
#define KV_KEEP_TTL (-2)  /* kv_set: keep the key's current expire_ms */

/* One value: header and bytes in one allocation. len <= cap; bytes past len
 * are spare room for APPEND/SETRANGE growth. A stored expire_ms is always
 * positive (commands validate it), so -1 is free to mean "none". */
struct kv_val {
    int64_t expire_ms; /* absolute Unix ms, or KV_NO_EXPIRE */
    uint32_t len, cap;
    char data[];
};

/* 1 if v is logically absent at now_ms. */
static inline int kv_val_expired(const struct kv_val *v, int64_t now_ms)
{
    return v->expire_ms != KV_NO_EXPIRE && v->expire_ms <= now_ms;
}

typedef void kv_key_fn(void *ud, const char *key, size_t len);

struct kv {
    struct dict keys;          /* key -> struct kv_val * */
    struct dict volatile_keys; /* key -> struct dict_entry * of `keys` */
    uint64_t expire_cursor;    /* resumable dict_scan cursor of the sampler */
    uint64_t rng;              /* PRNG state for RANDOMKEY (local reads only) */
    size_t max_value_len;      /* proto-max-bulk-len: APPEND/SETRANGE limit */
    /* stats (INFO) */
    uint64_t keyspace_hits, keyspace_misses, expired_keys;
    /* hooks (WATCH); may be NULL */
    void (*on_modify)(void *ud, const char *key, size_t len);
    void (*on_flush)(void *ud);
    void *hook_ud;
};

void kv_init(struct kv *kv, uint64_t seed);
void kv_free(struct kv *kv);
/* Deletes every key (on_flush fires first). Stats are kept. */
void kv_flush(struct kv *kv);
void kv_reset_stats(struct kv *kv);
/* Incremental rehash and shrink of both dicts; called by the server timer. */
void kv_cron(struct kv *kv);

/* Physical counts: keys logically expired but not yet deleted are included,
 * as in Redis's DBSIZE and INFO keyspace. */
uint64_t kv_size(const struct kv *kv);
uint64_t kv_volatile_count(const struct kv *kv);

/* --- lookups --- */

/* Read lookup: the value, or NULL if absent or expired at now_ms. Counts
 * keyspace_hits / keyspace_misses. Never modifies the keyspace. */
struct kv_val *kv_lookup_read(struct kv *kv, const char *key, size_t len, int64_t now_ms);
/* Like kv_lookup_read without counting stats: 1 if the key logically exists. */
int kv_exists(struct kv *kv, const char *key, size_t len, int64_t now_ms);
/* 1 if the key is stored, expired or not (WATCH bookkeeping). */
int kv_physically_exists(struct kv *kv, const char *key, size_t len);

enum kv_lookup_flags {
    KV_LOOKUP_STATS = 1u << 0, /* count hits/misses (Redis read lookups in write commands) */
};
/* Write lookup: deletes the key first if expired at now_ms, then returns its
 * value or NULL. flags: KV_LOOKUP_STATS or 0. */
struct kv_val *kv_lookup_write(struct kv *kv, const char *key, size_t len, int64_t now_ms,
                               unsigned flags);
/* A hint that key will be looked up soon (dict_prefetch's stages). */
static inline void kv_prefetch(const struct kv *kv, const char *key, size_t len,
                               enum dict_prefetch_stage stage)
{
    dict_prefetch(&kv->keys, key, len, stage);
}

/* --- mutators (write path only) --- */

/*
 * Sets key to a copy of val[0..vlen) (vlen < 4 GiB). expire_ms is the new
 * absolute expiry, KV_NO_EXPIRE to make the key persistent, or KV_KEEP_TTL
 * to keep the current one. An expired previous value is deleted first.
 * val must not point into the keyspace's own copy of key.
 * Returns 1 if the key was created, 0 if an existing value was replaced.
 */
int kv_set(struct kv *kv, const char *key, size_t klen, const void *val, size_t vlen,
           int64_t expire_ms, int64_t now_ms);
/*
 * Resizes key's value to new_len bytes (bytes past the old length are
 * zeroed), keeping its TTL; creates an empty persistent key if absent.
 * Returns the value's bytes for the caller to fill [0, new_len) before its
 * next kv_ call. Growth is geometric so repeated APPENDs stay O(1) amortized.
 */
char *kv_resize(struct kv *kv, const char *key, size_t klen, size_t new_len, int64_t now_ms);
/* Deletes key. Returns 1 if a live key was deleted, 0 if it was absent or
 * expired (an expired key is still removed and counted in expired_keys). */
int kv_delete(struct kv *kv, const char *key, size_t len, int64_t now_ms);
/* Deletes key only if it is expired at now_ms (SM_ENTRY_EXPIRE entries).
 * Returns 1 if deleted. */
int kv_delete_if_expired(struct kv *kv, const char *key, size_t len, int64_t now_ms);
/* Sets (expire_ms > 0) or removes (KV_NO_EXPIRE) the TTL of key, which the
 * caller has looked up for writing. Returns 1 if the key is stored (and was
 * changed), 0 otherwise. kv_persist returns 1 only if a TTL was removed. */
int kv_set_expire(struct kv *kv, const char *key, size_t len, int64_t expire_ms);
int kv_persist(struct kv *kv, const char *key, size_t len);
/*
 * Moves src's value and TTL to dst, replacing dst (src != dst, both already
 * looked up for writing by the caller). Returns 0, or -1 if src is absent.
 */
int kv_rename(struct kv *kv, const char *src, size_t slen, const char *dst, size_t dlen);

/* --- iteration --- */

/* Visits every stored key (expired ones included) with its value; fn must
 * not modify the keyspace. For snapshots and KEYS. */
typedef void kv_visit_fn(void *ud, const char *key, size_t klen, const struct kv_val *v);
void kv_foreach(struct kv *kv, kv_visit_fn *fn, void *ud);
/* One SCAN step: visits the bucket(s) at cursor like dict_scan (same
 * guarantees) and returns the next cursor, 0 when the scan is complete. */
uint64_t kv_scan(struct kv *kv, uint64_t cursor, kv_visit_fn *fn, void *ud);
/*
 * A random key alive at now_ms, or NULL if none: a few random draws, then a
 * bounded walk (so a keyspace of expired keys never loops forever). Returns
 * the key bytes (NUL-terminated, borrowed like a lookup) and *len.
 */
const char *kv_random_key(struct kv *kv, int64_t now_ms, size_t *len);
/*
 * Active expiry sampler: examines about sample_max volatile keys, resuming
 * where the previous call stopped, and calls fn(ud, key, len) for each one
 * expired at now_ms. Buckets are taken whole, so fn is called at most
 * sample_max times unless one bucket alone holds more. Deletes nothing: the server
 * turns the keys into an expire entry. key pointers stay valid until the key
 * is deleted. Returns the number of keys examined (0: nothing volatile, or
 * only empty buckets were visited in this call).
 */
size_t kv_expired_sample(struct kv *kv, int64_t now_ms, size_t sample_max, kv_key_fn *fn, void *ud);

/* --- command-layer helpers shared by src/cmd_*.c and the state machine --- */

struct command;

/* Replies shared by several command files (Redis's exact texts). */
#define ERR_EXPIRE_FMT "ERR invalid expire time in '%s' command"
#define ERR_ARITY_FMT "ERR wrong number of arguments for '%s' command"

/* 1 if argument a equals the option name s, ignoring ASCII case. */
static inline int cmd_arg_is(const struct resp_arg *a, const char *s)
{
    size_t n = strlen(s);
    return a->len == n && strncasecmp(a->ptr, s, n) == 0;
}

/*
 * Relative TTLs made absolute for the replicated log. If argv is a valid
 * SET with EX/PX, SETEX, PSETEX, GETEX with EX/PX, EXPIRE or PEXPIRE, fills
 * out_argv (room for argc + 2 entries) with the equivalent absolute command
 * (SET ... PXAT ms, GETEX k PXAT ms, PEXPIREAT k ms [flags]) whose entries
 * point into argv, static strings and scratch (>= UTIL_LL_STR_SIZE, 21
 * bytes), and returns its
 * argc. Returns 0 to keep argv unchanged: not such a command, or invalid (the
 * apply then produces Redis's error reply from the original arguments).
 */
int cmd_ttl_absolute(const struct command *cmd, int argc, const struct resp_arg *argv,
                     int64_t now_ms, struct resp_arg *out_argv, char *scratch, size_t scratch_len);

/* Parsed SET / GETEX options (src/cmd_string.c), shared with cmd_ttl_absolute. */
enum cmd_set_flags {
    CMD_SET_NX = 1u << 0,
    CMD_SET_XX = 1u << 1,
    CMD_SET_GET = 1u << 2,
    CMD_SET_KEEPTTL = 1u << 3,
    CMD_SET_PERSIST = 1u << 4, /* GETEX only */
    CMD_SET_EX = 1u << 5,
    CMD_SET_PX = 1u << 6,
    CMD_SET_EXAT = 1u << 7,
    CMD_SET_PXAT = 1u << 8,
};
#define CMD_SET_EXPIRE_ANY (CMD_SET_EX | CMD_SET_PX | CMD_SET_EXAT | CMD_SET_PXAT)

struct cmd_set_opts {
    unsigned flags;
    int expire_idx; /* argv index of the (last) expire value, or 0 */
};

/* Parses SET (is_getex = 0, from argv[3]) or GETEX (is_getex = 1, from
 * argv[2]) options with Redis's exact acceptance rules. Returns 0, or -1 on
 * a syntax error. */
int cmd_set_parse_opts(int argc, const struct resp_arg *argv, int is_getex, struct cmd_set_opts *o);
/* The absolute expiry in ms of the expire option in o at now_ms. Returns 0,
 * or -1 if the value is invalid: *not_int tells which error Redis replies
 * (ERR_NOT_INT, else "invalid expire time in '<cmd>' command"). */
int cmd_set_expire_ms(const struct resp_arg *argv, const struct cmd_set_opts *o, int64_t now_ms,
                      int64_t *ms, int *not_int);

#endif
