/*
 * src/sm/inflight.h - which keys have writes on their way through the log:
 * staged for the leader's next entry, or proposed and not applied yet.
 *
 * WATCH needs it (src/server/multi.h). EXEC is checked on the leader when it is
 * proposed, against the applied keyspace; a write already in the log ahead
 * of the EXEC's entry but not applied yet changes a watched key after that
 * check, so the EXEC would overwrite it: a lost update under the very
 * optimistic-locking loop WATCH exists for. EXEC therefore also fails when a
 * watched key has such a write. The decision is taken once, on the leader,
 * before anything is proposed, so every replica applies the same entries.
 *
 * Keys are tracked by bucket, the key's cluster hash slot (hash tags
 * included; INFLIGHT_BUCKETS of them): a write to another key of the same
 * bucket fails the EXEC too, which costs the client a retry, never an
 * update. Writes whose keys are not known count as writes to every bucket:
 * keyless writes (FLUSHALL) and the entries a new leader inherits from
 * earlier terms (inflight_all()).
 *
 * Use: inflight_stage_key()/inflight_stage_all() while a write joins the
 * entry being built; inflight_proposed(index) once that entry has its log
 * index (0: the log refused it; the staged writes are forgotten);
 * inflight_busy(key, applied) when an EXEC is checked. Memory: two tables of
 * INFLIGHT_BUCKETS words plus the distinct buckets of one entry.
 */
#ifndef INFLIGHT_H
#define INFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INFLIGHT_BUCKETS 16384

struct inflight {
    uint64_t *last;   /* per bucket: highest log index proposed that writes it */
    uint32_t *staged; /* per bucket: == gen if a staged write touches it */
    uint32_t gen;     /* the entry being built; never 0 */
    uint32_t *open;   /* distinct buckets staged for it */
    uint32_t n_open, cap_open;
    bool open_all; /* a staged write touches every bucket */
    uint64_t all;  /* highest log index of an entry that may write any key */
};

void inflight_init(struct inflight *f);
void inflight_free(struct inflight *f);
void inflight_stage_key(struct inflight *f, const char *key, size_t len);
void inflight_stage_all(struct inflight *f);
void inflight_proposed(struct inflight *f, uint64_t index);
/* Entries up to index may write any key (a new leader's inherited log). */
void inflight_all(struct inflight *f, uint64_t index);
/* true if a write to key's bucket is staged, or proposed at an index above
 * applied (the last index applied to the keyspace). */
bool inflight_busy(const struct inflight *f, const char *key, size_t len, uint64_t applied);

#endif
