/*
 * raft/membership.c - single-server membership changes (§4.1), learners (§4.2.1),
 * leader self-removal (§4.2.2), leadership transfer (§3.10).
 *
 * A configuration entry carries the whole new configuration and takes effect on every
 * server as soon as it is appended to its log, committed or not (§4.1). If a conflicting
 * suffix holding it is truncated, the server falls back to the latest configuration
 * left in its log, or the snapshot's. Why single-server changes rather than joint
 * consensus: see raft.h. Each server's address rides along in the configuration (given
 * once, when the server is added), so it is in the log and in snapshots like the
 * membership itself; the core carries it and never looks inside.
 */
#include <string.h>
#include "raft_int.h"
#include "raft_assert.h"

int raft_conf_find(const struct raft_conf *c, raft_id id)
{
    for (uint32_t i = 0; i < c->n && i < RAFT_MAX_NODES; i++)
        if (c->s[i].id == id) return (int)i;
    return -1;
}

/* strlen(a) if a NUL lies within RAFT_ADDR_MAX bytes, else RAFT_ADDR_MAX. Bounded: an
 * address is a fixed array, and a caller's string may be longer than one. */
static uint32_t addr_len(const char *a)
{
    uint32_t n = 0;
    while (n < RAFT_ADDR_MAX && a[n] != '\0')
        n++;
    return n;
}

bool raft_conf_valid(const struct raft_conf *c)
{
    if (c->n > RAFT_MAX_NODES) return false;
    for (uint32_t k = 0; k < c->n; k++)
        if (addr_len(c->s[k].addr) >= RAFT_ADDR_MAX) return false;
    return true;
}

uint32_t raft_conf_size(const struct raft_conf *c)
{
    uint32_t size = 4;
    for (uint32_t k = 0; k < c->n && k < RAFT_MAX_NODES; k++)
        size += 8 + 1 + 1 + addr_len(c->s[k].addr);
    return size;
}

uint32_t raft_conf_encode(const struct raft_conf *c, uint8_t *buf)
{
    ASSERT(raft_conf_valid(c));
    uint32_t n = c->n, off = 4;
    raft_le_put(buf, n, 4);
    for (uint32_t k = 0; k < n; k++) {
        uint32_t alen = addr_len(c->s[k].addr);
        raft_le_put(buf + off, c->s[k].id, 8);
        off += 8;
        buf[off++] = c->s[k].voter ? 1 : 0;
        buf[off++] = (uint8_t)alen;
        memcpy(buf + off, c->s[k].addr, alen);
        off += alen;
    }
    return off;
}

/*
 * Two formats, told apart by the length alone, which the caller always knows (an
 * entry's len, a message's length prefix):
 *   old (before addresses): exactly 4 + 9n bytes;
 *   new: 4 + 10n + (sum of addr_len) bytes, so at least 4 + 10n.
 * For n >= 1, 4 + 9n < 4 + 10n: no new encoding of n servers is 4 + 9n bytes long, so
 * "len == 4 + 9n" means the old format and anything else must be the new one, parsed
 * strictly (exact length). For n == 0 both formats are the same 4 bytes, an empty
 * configuration, so reading them as either gives the same result.
 */
int raft_conf_decode(const uint8_t *buf, uint32_t len, struct raft_conf *c)
{
    if (len < 4) return RAFT_EMALFORMED;
    uint32_t n = (uint32_t)raft_le_get(buf, 4);
    if (n > RAFT_MAX_NODES) return RAFT_EMALFORMED;
    bool old = len == 4 + n * 9;
    uint32_t off = 4;
    memset(c, 0, sizeof(*c));
    for (uint32_t k = 0; k < n; k++) {
        if (len - off < (old ? 9u : 10u)) return RAFT_EMALFORMED;
        const uint8_t *p = buf + off;
        raft_id id = raft_le_get(p, 8);
        if (id == 0 || p[8] > 1 || raft_conf_find(c, id) >= 0)
            return RAFT_EMALFORMED; /* an id must be set and appear once */
        off += 9;
        if (!old) {
            uint32_t alen = buf[off++];
            if (alen >= RAFT_ADDR_MAX || len - off < alen || memchr(buf + off, 0, alen))
                return RAFT_EMALFORMED;
            memcpy(c->s[k].addr, buf + off, alen);
            off += alen;
        }
        c->s[k].id = id;
        c->s[k].voter = p[8];
        c->n = k + 1;
    }
    return off == len ? 0 : RAFT_EMALFORMED;
}

/* A configuration entry was appended: it is the configuration from now on. */
void raft_member_on_append(struct raft *r, const struct raft_entry *e)
{
    struct raft_conf c;
    if (raft_conf_decode(e->data, e->len, &c) != 0)
        return; /* never produced by a correct leader; ignored like a no-op */
    r->conf = c;
    r->conf_index = e->index;
    raft_pr_rebuild(r);
}

/* The configuration in force at index i, and the index of the entry that set it (the
 * snapshot's index when none after it did). */
static raft_index conf_at(const struct raft *r, raft_index i, struct raft_conf *out)
{
    for (; i > r->log.base; i--) {
        const struct raft_entry *e = rlog_at(&r->log, i);
        if (e->type == RAFT_ENTRY_CONF && raft_conf_decode(e->data, e->len, out) == 0) return i;
    }
    for (uint32_t k = r->n_rel_confs; k-- > 0;) {
        if (r->rel_confs[k].index <= i) {
            *out = r->rel_confs[k].conf;
            return r->rel_confs[k].index;
        }
    }
    *out = r->snap_conf;
    return r->log.snap_index;
}

void raft_member_conf_at(const struct raft *r, raft_index i, struct raft_conf *out)
{
    if (r->conf_index <= i) { /* the common case: no change after i */
        *out = r->conf;
        return;
    }
    conf_at(r, i, out);
}

/* The entry holding the configuration was truncated: find the previous one. */
int raft_member_recompute(struct raft *r)
{
    r->conf_index = conf_at(r, rlog_last(&r->log), &r->conf);
    return raft_pr_rebuild(r);
}

/* §4.2.2: a leader removed (or demoted) by a committed change steps down. */
void raft_member_on_commit(struct raft *r)
{
    if (r->role == RAFT_LEADER && r->commit >= r->conf_index && !raft_is_voter(r, r->id))
        raft_become_follower(r, r->term, 0);
}

static int can_change(const struct raft *r)
{
    if (r->role != RAFT_LEADER) return RAFT_ENOTLEADER;
    /* one change at a time, and only after an entry of this term committed */
    if (r->transferee || r->conf_index > r->commit || rlog_term(&r->log, r->commit) != r->term)
        return RAFT_EBUSY;
    return 0;
}

/* §4.2.1: a learner joins the voters only once it has shown it keeps up: it answered
 * within the last election timeout, it is replicating normally, and it acknowledged
 * entries of this leader's term (a new leader starts every match at 0) up to within
 * promote_lag_entries of our last index, and it does not say it is recovering (it would
 * count for nothing in quorums until it has caught up: raft_set_recovering()). match > 0
 * and the recent answer are what make "caught up" mean something on a short log:
 * without them an unreachable server (match 0) is within the lag of any log of up to
 * promote_lag_entries entries, and once promoted it can take the quorum away for good.
 * It also holds the latest configuration (for a learner just added, the entry adding
 * it): an answer about earlier entries may come from the server an earlier change
 * removed under the same id, sent before it stopped and read after the id was added
 * back, and says nothing of the server added (which may be an empty one, recovering). */
static bool caught_up(const struct raft *r, const struct progress *p)
{
    return p->match > 0 && p->match >= r->conf_index && p->state == PR_REPLICATE &&
           raft_pr_responsive(r, p) && !p->recovering &&
           p->match + r->cfg.promote_lag_entries >= rlog_last(&r->log);
}

/* Whether the voters of c that answered us within the last election timeout (we count
 * for ourselves) reach c's quorum. A change that takes effect without this (promoting a
 * silent learner, removing one of the last responsive voters) can neither commit nor be
 * undone: the next change needs this one committed first (etcd's "strict reconfig
 * check" refuses such changes for the same reason). */
static bool responsive_quorum(const struct raft *r, const struct raft_conf *c)
{
    uint32_t voters = 0, live = 0;
    for (uint32_t k = 0; k < c->n; k++) {
        if (!c->s[k].voter) continue;
        voters++;
        for (uint32_t i = 0; i < r->n_prs; i++)
            if (r->prs[i].id == c->s[k].id)
                live += r->prs[i].id == r->id || raft_pr_responsive(r, &r->prs[i]);
    }
    return live >= voters / 2 + 1;
}

int raft_propose_conf_change(struct raft *r, enum raft_conf_change type, raft_id id,
                             const char *addr, raft_index *index)
{
    int rc = can_change(r);
    if (rc != 0) return rc;
    struct raft_conf c = r->conf;
    int at = raft_conf_find(&c, id);
    if (id == 0) return RAFT_EINVAL;
    if (type == RAFT_CC_ADD_LEARNER) {
        uint32_t alen = addr ? addr_len(addr) : 0;
        if (at >= 0 || c.n == RAFT_MAX_NODES || alen >= RAFT_ADDR_MAX) return RAFT_EINVAL;
        struct raft_server *sv = &c.s[c.n++];
        memset(sv, 0, sizeof(*sv)); /* address tail and padding zero, as decoded confs have */
        sv->id = id;
        if (alen) memcpy(sv->addr, addr, alen);
    } else if (type == RAFT_CC_PROMOTE) {
        if (at < 0 || c.s[at].voter) return RAFT_EINVAL;
        if (!caught_up(r, raft_pr(r, id))) return RAFT_EUNSAFE;
        c.s[at].voter = true;
    } else if (type == RAFT_CC_REMOVE) {
        if (at < 0 || (c.s[at].voter && raft_n_voters(r) == 1)) return RAFT_EINVAL;
        c.s[at] = c.s[--c.n];
        memset(&c.s[c.n], 0, sizeof(c.s[c.n]));
    } else {
        return RAFT_EINVAL;
    }
    if (type != RAFT_CC_ADD_LEARNER && r->conf.s[at].voter != (type == RAFT_CC_PROMOTE) &&
        !responsive_quorum(r, &c))
        return RAFT_EUNSAFE; /* the voters change: the new ones must be able to commit */
    uint8_t buf[RAFT_CONF_MAX_BYTES];
    uint32_t len = raft_conf_encode(&c, buf);
    if (rlog_append(&r->log, r->term, RAFT_ENTRY_CONF, buf, len) != 0) return RAFT_ENOMEM;
    raft_member_on_append(r, rlog_at(&r->log, rlog_last(&r->log)));
    if (index) *index = rlog_last(&r->log);
    raft_repl_bcast_append(r, false);
    if (raft_repl_maybe_commit(r)) /* e.g. removing the only other voter */
        raft_repl_bcast_append(r, true);
    return 0;
}

/* Leader, every heartbeat: forget departed servers that are done, and promote a learner
 * that has caught up. */
void raft_member_tick(struct raft *r)
{
    raft_pr_prune_departed(r);
    if (!r->cfg.auto_promote || can_change(r) != 0) return;
    for (uint32_t i = 0; i < r->conf.n; i++) {
        struct progress *p = &r->prs[i];
        if (!p->voter && p->id != r->id && caught_up(r, p) &&
            raft_propose_conf_change(r, RAFT_CC_PROMOTE, p->id, NULL, NULL) == 0)
            return;
    }
}

int raft_transfer_leader(struct raft *r, raft_id target)
{
    if (r->role != RAFT_LEADER) return RAFT_ENOTLEADER;
    if (target == r->id || !raft_is_voter(r, target)) return RAFT_EINVAL;
    if (r->transferee) return RAFT_EBUSY;
    /* A recovering server ignores TimeoutNow: the transfer would only hold
     * proposals back for an election timeout. */
    if (raft_pr(r, target)->recovering) return RAFT_EUNSAFE;
    r->transferee = target;
    r->lease_off_term = r->term; /* the target (or a late TimeoutNow) ignores our lease */
    r->election_elapsed = 0;     /* gives up after one election timeout */
    struct progress *p = raft_pr(r, target);
    if (p->match == rlog_last(&r->log))
        raft_member_check_transfer(r, p);
    else
        raft_repl_send_append(r, p, true);
    return 0;
}

/* §3.10: once the target's log matches ours, tell it to campaign now. */
void raft_member_check_transfer(struct raft *r, struct progress *p)
{
    if (r->transferee != p->id || p->match != rlog_last(&r->log)) return;
    raft_msg_new(r, RAFT_MSG_TIMEOUT_NOW, p->id);
}
