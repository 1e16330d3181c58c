/*
 * src/ds/quicklist.c - the list structure (see quicklist.h): nodes and their
 * limits, LZF compression of the inner nodes, the writes, the iterator and
 * the invariant check.
 *
 * Compression bookkeeping: node positions are counted from the head. A
 * node at position p is "inner" when depth <= p < nodes - depth; inner
 * nodes are compressed, the others plain. A write settles every node it
 * changed (compressing it when inner: settle_node) and then the ends
 * (settle_ends), where adding or removing nodes moved the boundary: the
 * depth nodes at each end are made plain and the first inner nodes past
 * them compressed. One write adds at most two nodes, so looking
 * SETTLE_REACH nodes past the boundary finds every node that crossed it.
 */
#include <liblzf/lzf.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/quicklist.h"
#include "base/util.h"
#include "raft/raft_assert.h"

#define SETTLE_REACH 3

struct ql_node {
    struct ql_node *prev, *next;
    unsigned char *data; /* the listpack, or its LZF form when compressed */
    uint32_t count;      /* elements */
    uint32_t raw_bytes;  /* the listpack's bytes, compressed or not */
    uint32_t lzf_bytes;  /* data's bytes when compressed */
    uint8_t compressed;
    uint8_t no_gain;    /* compressing it saved too little: plain until it changes */
    uint8_t shared;     /* data is ql->share's buffer share_idx (ql_share) */
    uint32_t share_idx; /* valid while shared */
};

/* The buffers a list and its twin share (ql_share). held[i] counts the two
 * lists' nodes that still hold buffer i: 2, then 1; the list that lets go
 * of it last frees it. lists counts the lists attached: the last to detach
 * frees this. Atomic: either list may be freed on another thread. */
struct ql_share {
    _Atomic uint32_t lists;
    size_t n;
    _Atomic uint8_t held[];
};

/* Node limits of fill -1 .. -5. */
static const size_t level_bytes[] = {4096, 8192, 16384, 32768, 65536};

/* 1 if a node of count elements in bytes stays within the list's limits
 * (one element always does: it lives alone). */
static int fits(const struct quicklist *ql, size_t count, size_t bytes)
{
    if (count <= 1) return 1;
    if (ql->fill < 0) return bytes <= level_bytes[-ql->fill - 1];
    return count <= (size_t)ql->fill && bytes <= QL_SAFETY_BYTES;
}

/* --- nodes --- */

static struct ql_node *node_new(unsigned char *lp)
{
    ASSERT(lp != NULL);
    struct ql_node *n = util_xcalloc(1, sizeof *n);
    n->data = lp;
    n->count = lp_len(lp);
    n->raw_bytes = (uint32_t)lp_bytes(lp);
    return n;
}

/* Bytes of the buffers only twins hold (ql_twin_only_bytes). */
static _Atomic size_t twin_only;

size_t ql_twin_only_bytes(void)
{
    return atomic_load(&twin_only);
}

/* n stops holding its data: freed unless the twin still holds it. */
static void data_let_go(const struct quicklist *ql, struct ql_node *n)
{
    if (n->shared) {
        n->shared = 0;
        size_t bytes = malloc_usable_size(n->data);
        if (atomic_fetch_sub(&ql->share->held[n->share_idx], 1) == 2) {
            if (!ql->twin) atomic_fetch_add(&twin_only, bytes);
            return;
        }
        if (ql->twin) atomic_fetch_sub(&twin_only, bytes);
    }
    free(n->data);
}

static void node_free(const struct quicklist *ql, struct ql_node *n)
{
    data_let_go(ql, n);
    free(n);
}

/* n's data becomes its own before a write changes it in place: a copy when
 * the twin still holds the buffer, else the buffer itself. */
static void node_own(const struct quicklist *ql, struct ql_node *n)
{
    if (!n->shared) return;
    if (atomic_load(&ql->share->held[n->share_idx]) == 1) {
        n->shared = 0; /* the twin let go of it: the last holder owns it */
        return;
    }
    size_t bytes = n->compressed ? n->lzf_bytes : n->raw_bytes;
    unsigned char *copy = memcpy(util_xmalloc(bytes), n->data, bytes);
    data_let_go(ql, n);
    n->data = copy;
}

/* The list lets go of its share (ql_free, or every buffer owned again). */
static void share_detach(struct quicklist *ql)
{
    if (ql->share && atomic_fetch_sub(&ql->share->lists, 1) == 1) free(ql->share);
    ql->share = NULL;
}

/* Stores lp as n's (plain) listpack after a change. */
static void node_store(struct quicklist *ql, struct ql_node *n, unsigned char *lp)
{
    ASSERT(!n->compressed);
    ql->count = ql->count - n->count + lp_len(lp);
    n->data = lp;
    n->count = lp_len(lp);
    n->raw_bytes = (uint32_t)lp_bytes(lp);
    n->no_gain = 0;
}

static void lzf_expand(const struct ql_node *n, unsigned char *out)
{
    unsigned got = lzf_decompress(n->data, n->lzf_bytes, out, n->raw_bytes);
    ASSERT(got == n->raw_bytes && "a compressed list node does not decompress");
    (void)got;
}

/* n's listpack, decompressed in place first and its own (a write's
 * access: the only way to a node's data that is about to change). */
static unsigned char *node_plain(const struct quicklist *ql, struct ql_node *n)
{
    if (n->compressed) {
        unsigned char *lp = util_xmalloc(n->raw_bytes);
        lzf_expand(n, lp);
        data_let_go(ql, n);
        n->data = lp;
        n->compressed = 0;
    }
    node_own(ql, n);
    return n->data;
}

/* n's listpack for a read: its own, or decompressed into *scratch. */
static const unsigned char *node_read(const struct ql_node *n, unsigned char **scratch, size_t *cap)
{
    if (!n->compressed) return n->data;
    if (*cap < n->raw_bytes) {
        *scratch = util_xrealloc(*scratch, n->raw_bytes);
        *cap = n->raw_bytes;
    }
    lzf_expand(n, *scratch);
    return *scratch;
}

static void node_compress(const struct quicklist *ql, struct ql_node *n)
{
    if (n->compressed || n->no_gain) return;
    if (n->raw_bytes < QL_COMPRESS_MIN) {
        n->no_gain = 1;
        return;
    }
    /* An output buffer short of the gain: lzf_compress fails (returns 0)
     * when the result would not save QL_COMPRESS_GAIN bytes. */
    unsigned room = n->raw_bytes - QL_COMPRESS_GAIN;
    unsigned char *out = util_xmalloc(room);
    unsigned got = lzf_compress(n->data, n->raw_bytes, out, room);
    if (got == 0) {
        free(out);
        n->no_gain = 1;
        return;
    }
    ASSERT(got <= room);
    data_let_go(ql, n);
    n->data = util_xrealloc(out, got);
    n->lzf_bytes = got;
    n->compressed = 1;
}

/* Links n after `at` (NULL: as the head). */
static void link_after(struct quicklist *ql, struct ql_node *at, struct ql_node *n)
{
    ASSERT((ql->head == NULL) == (ql->nodes == 0) && (ql->tail == NULL) == (ql->nodes == 0));
    n->prev = at;
    n->next = at ? at->next : ql->head;
    if (n->next)
        n->next->prev = n;
    else
        ql->tail = n;
    if (at)
        at->next = n;
    else
        ql->head = n;
    ql->nodes++;
    ql->count += n->count;
}

static void unlink_node(struct quicklist *ql, struct ql_node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        ql->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        ql->tail = n->prev;
    ASSERT(ql->nodes > 0 && ql->count >= n->count);
    ql->nodes--;
    ql->count -= n->count;
    node_free(ql, n);
}

/* --- compression rule --- */

static int inner(const struct quicklist *ql, size_t p)
{
    return ql->depth && p >= ql->depth && p + ql->depth < ql->nodes;
}

/* n (at position p) was changed or decompressed: compressed again if inner. */
static void settle_node(const struct quicklist *ql, struct ql_node *n, size_t p)
{
    if (inner(ql, p)) node_compress(ql, n);
}

static void settle_ends(struct quicklist *ql)
{
    if (!ql->depth) return;
    size_t p = 0;
    struct ql_node *n = ql->head;
    for (; n && p < ql->depth; p++, n = n->next)
        node_plain(ql, n);
    for (int k = 0; n && k < SETTLE_REACH && inner(ql, p); k++, p++, n = n->next)
        node_compress(ql, n);
    p = 0;
    n = ql->tail;
    for (; n && p < ql->depth; p++, n = n->prev)
        node_plain(ql, n);
    for (int k = 0; n && k < SETTLE_REACH && inner(ql, ql->nodes - 1 - p); k++, p++, n = n->prev)
        node_compress(ql, n);
}

/* The node holding element index (< count): its position and the
 * element's offset in it. Walks from the nearer end. */
static struct ql_node *locate(const struct quicklist *ql, size_t index, size_t *pos, size_t *off)
{
    ASSERT(index < ql->count);
    struct ql_node *n;
    size_t p, first;
    if (index < ql->count / 2) {
        for (n = ql->head, p = 0, first = 0; index >= first + n->count; n = n->next, p++)
            first += n->count;
    } else {
        n = ql->tail;
        p = ql->nodes - 1;
        for (first = ql->count - n->count; index < first; p--) {
            n = n->prev;
            first -= n->count;
        }
    }
    *pos = p;
    *off = index - first;
    ASSERT(*off < n->count && p < ql->nodes);
    return n;
}

/* --- whole lists --- */

static long long clamp(long long v, long long lo, long long hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

struct quicklist *ql_new(long long fill, long long depth)
{
    struct quicklist *ql = util_xcalloc(1, sizeof *ql);
    ql->fill = (int)clamp(fill, QL_FILL_MIN, QL_FILL_MAX);
    ql->depth = (unsigned)clamp(depth, 0, QL_DEPTH_MAX);
    return ql;
}

void ql_free(struct quicklist *ql)
{
    for (struct ql_node *n = ql->head, *next; n; n = next) {
        next = n->next;
        node_free(ql, n);
    }
    share_detach(ql);
    free(ql);
}

struct quicklist *ql_dup(const struct quicklist *ql)
{
    struct quicklist *d = ql_new(ql->fill, ql->depth);
    for (const struct ql_node *n = ql->head; n; n = n->next) {
        struct ql_node *c = util_xmalloc(sizeof *c);
        *c = *n;
        size_t bytes = n->compressed ? n->lzf_bytes : n->raw_bytes;
        c->data = memcpy(util_xmalloc(bytes), n->data, bytes);
        c->shared = 0;
        link_after(d, d->tail, c);
    }
    return d;
}

/* Every shared node of ql owns its buffer again, ql's twin having let go
 * of them all; ql detaches. 0, or -1 when the twin still holds them. */
static int reclaim(struct quicklist *ql)
{
    if (!ql->share) return 0;
    if (atomic_load(&ql->share->lists) > 1) return -1;
    for (struct ql_node *n = ql->head; n; n = n->next)
        n->shared = 0;
    share_detach(ql);
    return 0;
}

struct quicklist *ql_share(struct quicklist *ql)
{
    if (reclaim(ql) != 0) return NULL;
    struct ql_share *sh = util_xmalloc(sizeof *sh + ql->nodes * sizeof sh->held[0]);
    atomic_init(&sh->lists, 2);
    sh->n = ql->nodes;
    struct quicklist *twin = ql_new(ql->fill, ql->depth);
    twin->twin = 1;
    size_t i = 0;
    for (struct ql_node *n = ql->head; n; n = n->next, i++) {
        ASSERT(i <= UINT32_MAX);
        atomic_init(&sh->held[i], 2);
        n->shared = 1;
        n->share_idx = (uint32_t)i;
        struct ql_node *c = util_xmalloc(sizeof *c);
        *c = *n;
        link_after(twin, twin->tail, c);
    }
    ql->share = twin->share = sh;
    return twin;
}

size_t ql_memory(const struct quicklist *ql, size_t samples)
{
    size_t bytes = 0, seen = 0;
    for (const struct ql_node *n = ql->head; n && (!samples || seen < samples); n = n->next) {
        bytes += malloc_usable_size((void *)n) + malloc_usable_size(n->data);
        seen++;
    }
    size_t total = malloc_usable_size((void *)ql);
    if (seen == ql->nodes) return total + bytes;
    return total + bytes / seen * ql->nodes;
}

/* --- whole nodes (the snapshot payload, src/types/t_list.c) --- */

size_t ql_listpack_bytes(const struct quicklist *ql)
{
    size_t bytes = 0;
    for (const struct ql_node *n = ql->head; n; n = n->next)
        bytes += n->raw_bytes;
    return bytes;
}

void ql_foreach_listpack(const struct quicklist *ql, ql_listpack_fn *fn, void *ud)
{
    unsigned char *scratch = NULL;
    size_t cap = 0;
    for (const struct ql_node *n = ql->head; n; n = n->next)
        fn(ud, node_read(n, &scratch, &cap), n->raw_bytes);
    free(scratch);
}

void ql_append_listpack(struct quicklist *ql, const unsigned char *lp)
{
    uint32_t count = lp_len(lp);
    ASSERT(count > 0);
    if (fits(ql, count, lp_bytes(lp))) {
        link_after(ql, ql->tail, node_new(lp_dup(lp)));
        settle_ends(ql);
        return;
    }
    char buf[LP_INTBUF];
    for (size_t pos = lp_first(lp); pos < lp_end(lp); pos = lp_next(lp, pos)) {
        size_t len;
        const char *e = lp_get(lp, pos, buf, &len);
        ql_push(ql, QL_TAIL, e, len);
    }
}

/* --- writes --- */

void ql_push(struct quicklist *ql, enum ql_end end, const char *p, size_t len)
{
    ASSERT(len <= QL_ELEMENT_MAX);
    size_t before = ql->count;
    struct ql_node *n = end == QL_HEAD ? ql->head : ql->tail;
    if (n && fits(ql, n->count + 1, n->raw_bytes + lp_entry_bytes(p, len))) {
        /* An end node: plain whatever the depth (depth 0 compresses none). */
        unsigned char *lp = node_plain(ql, n);
        lp = end == QL_HEAD ? lp_insert(lp, lp_first(lp), p, len) : lp_append(lp, p, len);
        node_store(ql, n, lp);
        ASSERT(ql->count == before + 1);
        return;
    }
    n = node_new(lp_append(lp_new(), p, len));
    link_after(ql, end == QL_HEAD ? NULL : ql->tail, n);
    settle_ends(ql);
    ASSERT(ql->count == before + 1);
}

void ql_delete_range(struct quicklist *ql, size_t start, size_t n)
{
    if (start >= ql->count || n == 0) return;
    if (n > ql->count - start) n = ql->count - start;
    size_t after = ql->count - n;
    size_t p, off, np = 0;
    struct ql_node *node = locate(ql, start, &p, &off);
    struct {
        struct ql_node *node;
        size_t p;
    } partial[2];
    while (n > 0) {
        struct ql_node *next = node->next;
        size_t take = node->count - off < n ? node->count - off : n;
        if (take == node->count) {
            unlink_node(ql, node); /* the next node takes position p */
        } else {
            unsigned char *lp = node_plain(ql, node);
            node_store(ql, node, lp_delete(lp, lp_seek(lp, (long)off), (uint32_t)take));
            ASSERT(np < 2);
            partial[np].node = node;
            partial[np++].p = p++;
        }
        n -= take;
        off = 0;
        node = next;
    }
    for (size_t i = 0; i < np; i++)
        settle_node(ql, partial[i].node, partial[i].p);
    settle_ends(ql);
    ASSERT(ql->count == after);
}

/* Inserts e into n (at position p, plain) at byte offset at of its
 * listpack when the node full: splits n there, putting e with the part
 * before when it fits, else with the part after, else alone between. */
static void split_insert(struct quicklist *ql, struct ql_node *n, size_t p, size_t at,
                         const char *e, size_t len)
{
    unsigned char *tail;
    node_store(ql, n, lp_split(n->data, at, &tail));
    struct ql_node *right = NULL, *host;
    if (lp_len(tail)) {
        right = node_new(tail);
        link_after(ql, n, right);
    } else {
        lp_free(tail);
    }
    size_t add = lp_entry_bytes(e, len);
    if (n->count == 0 || fits(ql, n->count + 1, n->raw_bytes + add)) {
        host = n;
        node_store(ql, n, lp_append(n->data, e, len));
    } else if (right && fits(ql, right->count + 1, right->raw_bytes + add)) {
        host = right;
        node_store(ql, right, lp_insert(right->data, lp_first(right->data), e, len));
    } else {
        host = node_new(lp_append(lp_new(), e, len));
        link_after(ql, n, host);
    }
    settle_node(ql, n, p);
    if (host != n && host != right) settle_node(ql, host, p + 1);
    if (right) settle_node(ql, right, p + 1 + (host != n && host != right));
    settle_ends(ql);
}

/* Inserts e into n (at position p, plain) at byte offset at of its
 * listpack: into n when it fits, else into the neighbour at that edge when
 * it has room, else by splitting n. */
static void insert_at(struct quicklist *ql, struct ql_node *n, size_t p, size_t at, const char *e,
                      size_t len)
{
    ASSERT(len <= QL_ELEMENT_MAX);
    size_t before = ql->count;
    unsigned char *lp = node_plain(ql, n);
    size_t add = lp_entry_bytes(e, len);
    struct ql_node *nb = NULL;
    size_t nbp = 0;
    if (fits(ql, n->count + 1, n->raw_bytes + add)) {
        node_store(ql, n, lp_insert(lp, at, e, len));
    } else if (at == lp_end(lp) && n->next &&
               fits(ql, n->next->count + 1, n->next->raw_bytes + add)) {
        nb = n->next;
        nbp = p + 1;
        unsigned char *nl = node_plain(ql, nb);
        node_store(ql, nb, lp_insert(nl, lp_first(nl), e, len));
    } else if (at == lp_first(lp) && n->prev &&
               fits(ql, n->prev->count + 1, n->prev->raw_bytes + add)) {
        nb = n->prev;
        nbp = p - 1;
        node_store(ql, nb, lp_append(node_plain(ql, nb), e, len));
    } else {
        split_insert(ql, n, p, at, e, len);
        ASSERT(ql->count == before + 1);
        return;
    }
    settle_node(ql, n, p);
    if (nb) settle_node(ql, nb, nbp);
    ASSERT(ql->count == before + 1);
}

int ql_replace(struct quicklist *ql, size_t index, const char *p, size_t len)
{
    ASSERT(len <= QL_ELEMENT_MAX);
    if (index >= ql->count) return 0;
    size_t pos, off;
    struct ql_node *n = locate(ql, index, &pos, &off);
    unsigned char *lp = node_plain(ql, n);
    size_t at = lp_seek(lp, (long)off);
    size_t old = lp_next(lp, at) - at;
    if (fits(ql, n->count, n->raw_bytes - old + lp_entry_bytes(p, len))) {
        node_store(ql, n, lp_replace(lp, at, p, len));
        settle_node(ql, n, pos);
        return 1;
    }
    /* Too big for the node (which holds others: one element always fits):
     * out with the old one, and in as an insertion at its place. */
    node_store(ql, n, lp_delete(lp, at, 1));
    insert_at(ql, n, pos, at, p, len);
    return 1;
}

int ql_insert(struct quicklist *ql, const char *pivot, size_t plen, int after, const char *p,
              size_t len)
{
    unsigned char *scratch = NULL;
    size_t cap = 0, pos = 0;
    for (struct ql_node *n = ql->head; n; n = n->next, pos++) {
        const unsigned char *lp = node_read(n, &scratch, &cap);
        size_t at = lp_find(lp, lp_first(lp), pivot, plen, 0);
        if (at == lp_end(lp)) continue;
        if (after) at = lp_next(lp, at);
        free(scratch);
        /* Decompressed in place, n's listpack has the bytes the scratch
         * copy had: at is still the place. */
        insert_at(ql, n, pos, at, p, len);
        return 1;
    }
    free(scratch);
    return 0;
}

/* Removes up to max elements equal to e from n, from its head or (reverse)
 * its tail. Returns how many. */
static size_t remove_in_node(struct quicklist *ql, struct ql_node *n, const char *e, size_t len,
                             uint64_t max, int reverse)
{
    unsigned char *lp = node_plain(ql, n);
    size_t k = 0;
    if (!reverse) {
        for (size_t at = lp_find(lp, lp_first(lp), e, len, 0); at != lp_end(lp) && k < max;
             at = lp_find(lp, at, e, len, 0)) {
            lp = lp_delete(lp, at, 1);
            k++;
        }
    } else {
        for (size_t at = lp_last(lp); at != lp_end(lp) && k < max;) {
            int first = at == lp_first(lp);
            size_t prev = first ? 0 : lp_prev(lp, at); /* before at: stays put */
            if (lp_eq(lp, at, e, len)) {
                lp = lp_delete(lp, at, 1);
                k++;
            }
            if (first) break;
            at = prev;
        }
    }
    node_store(ql, n, lp);
    return k;
}

size_t ql_remove(struct quicklist *ql, const char *e, size_t len, long long count)
{
    int reverse = count < 0;
    uint64_t want = count == 0 ? UINT64_MAX : reverse ? 0 - (uint64_t)count : (uint64_t)count;
    unsigned char *scratch = NULL;
    size_t cap = 0, removed = 0, before = ql->count;
    struct ql_node *n = reverse ? ql->tail : ql->head;
    size_t p = reverse ? ql->nodes - 1 : 0; /* n's position */
    while (n && removed < want) {
        struct ql_node *next = reverse ? n->prev : n->next;
        const unsigned char *lp = node_read(n, &scratch, &cap);
        int gone = 0;
        if (lp_find(lp, lp_first(lp), e, len, 0) != lp_end(lp)) {
            removed += remove_in_node(ql, n, e, len, want - removed, reverse);
            if (n->count == 0) {
                unlink_node(ql, n);
                gone = 1;
            } else {
                settle_node(ql, n, p);
            }
        }
        /* Going forwards, the next node takes the position of one unlinked. */
        if (reverse)
            p--;
        else if (!gone)
            p++;
        n = next;
    }
    free(scratch);
    settle_ends(ql);
    ASSERT(removed <= want && ql->count == before - removed);
    return removed;
}

/* --- reads --- */

static void iter_enter(struct ql_iter *it, const struct ql_node *n)
{
    it->node = n;
    it->lp = node_read(n, &it->scratch, &it->scratch_cap);
}

void ql_iter_init(struct ql_iter *it, const struct quicklist *ql, size_t index, int reverse)
{
    memset(it, 0, sizeof *it);
    it->ql = ql;
    it->reverse = reverse;
    if (index >= ql->count) return;
    size_t p, off;
    iter_enter(it, locate(ql, index, &p, &off));
    it->pos = lp_seek(it->lp, (long)off);
    ASSERT(it->pos != lp_end(it->lp));
}

int ql_iter_next(struct ql_iter *it, const char **p, size_t *len)
{
    while (it->node && it->pos == lp_end(it->lp)) {
        const struct ql_node *n = it->reverse ? it->node->prev : it->node->next;
        if (!n) {
            it->node = NULL;
            break;
        }
        iter_enter(it, n);
        it->pos = it->reverse ? lp_last(it->lp) : lp_first(it->lp);
    }
    if (!it->node) return 0;
    *p = lp_get(it->lp, it->pos, it->buf, len);
    it->pos = it->reverse ? lp_prev(it->lp, it->pos) : lp_next(it->lp, it->pos);
    return 1;
}

void ql_iter_done(struct ql_iter *it)
{
    free(it->scratch);
    it->scratch = NULL;
    it->scratch_cap = 0;
    it->node = NULL;
}

/* --- checks --- */

size_t ql_compressed_nodes(const struct quicklist *ql)
{
    size_t k = 0;
    for (const struct ql_node *n = ql->head; n; n = n->next)
        k += n->compressed;
    return k;
}

/* One node's own invariants at position p. */
static int verify_node(const struct quicklist *ql, const struct ql_node *n, size_t p,
                       unsigned char **scratch, size_t *cap, char *err, size_t errlen)
{
    const unsigned char *lp = node_read(n, scratch, cap);
    if (n->count == 0 || lp_len(lp) != n->count || lp_bytes(lp) != n->raw_bytes)
        return util_fail(err, errlen, -1, "node %zu: count %u, listpack %u entries in %zu bytes", p,
                         n->count, lp_len(lp), lp_bytes(lp));
    if (!fits(ql, n->count, n->raw_bytes))
        return util_fail(err, errlen, -1, "node %zu: %u entries in %u bytes pass fill %d", p,
                         n->count, n->raw_bytes, ql->fill);
    if (n->compressed && n->lzf_bytes + QL_COMPRESS_GAIN > n->raw_bytes)
        return util_fail(err, errlen, -1, "node %zu: compressed to %u of %u bytes", p, n->lzf_bytes,
                         n->raw_bytes);
    if (n->shared && (!ql->share || n->share_idx >= ql->share->n ||
                      atomic_load(&ql->share->held[n->share_idx]) == 0))
        return util_fail(err, errlen, -1, "node %zu: shares buffer %u, not held", p, n->share_idx);
    if (inner(ql, p) ? !n->compressed && !n->no_gain : n->compressed)
        return util_fail(err, errlen, -1, "node %zu of %zu: %s at depth %u", p, ql->nodes,
                         n->compressed ? "compressed" : "plain", ql->depth);
    return 0;
}

int ql_verify(const struct quicklist *ql, char *err, size_t errlen)
{
    unsigned char *scratch = NULL;
    size_t cap = 0, p = 0, count = 0;
    int rc = 0;
    const struct ql_node *prev = NULL;
    for (const struct ql_node *n = ql->head; n && rc == 0; prev = n, n = n->next, p++) {
        if (n->prev != prev)
            rc = util_fail(err, errlen, -1, "node %zu: broken back link", p);
        else
            rc = verify_node(ql, n, p, &scratch, &cap, err, errlen);
        count += n->count;
    }
    free(scratch);
    if (rc == 0 && (prev != ql->tail || p != ql->nodes || count != ql->count))
        rc = util_fail(err, errlen, -1, "%zu nodes of %zu elements; the list says %zu of %zu", p,
                       count, ql->nodes, ql->count);
    return rc;
}
