/*
 * raft/check.c - what a message must satisfy before raft_step() lets it touch state.
 *
 * Every field of a raft_msg came off the wire, from a peer that knows the cluster's
 * secret but may still be broken or hostile (raft.h, MESSAGES FROM THE NETWORK). The
 * codec checks the format; this file checks the meaning: the invariants every message
 * a correct server sends satisfies, so that no later code (and no ASSERT) ever sees a
 * term or an index no correct cluster can produce. A message that breaks one is
 * refused whole, with a reason the driver logs (raft_refusal()); refusing is dropping,
 * which Raft tolerates like a loss on the network.
 *
 * Stateless on purpose: the rules hold whatever this server's state, so each has a
 * unit test of its own (tests/unit/test_raft_hostile.c) and the simulator checks that
 * no message of a correct cluster is ever refused (tests/sim/sim.c).
 */
#include "raft_int.h"

/* APPEND's entries: consecutive after the previous entry (the codec numbers them so,
 * a driver building messages by hand might not), of terms that never go down from the
 * previous entry's and never exceed the leader's (a log's terms are non-decreasing and
 * no entry is newer than the term of the leader that sent it, Fig. 3.1). */
static const char *entries_refusal(const struct raft_msg *m)
{
    if (m->n_entries > RAFT_MAX_MSG_ENTRIES) return "more entries than RAFT_MAX_MSG_ENTRIES";
    if (m->n_entries && !m->entries) return "entries missing";
    if (m->index > RAFT_INDEX_MAX - m->n_entries) return "entry index above RAFT_INDEX_MAX";
    raft_term prev = m->log_term;
    for (uint32_t i = 0; i < m->n_entries; i++) {
        const struct raft_entry *e = &m->entries[i];
        if (e->index != m->index + 1 + i) return "entries out of sequence";
        if (e->term == 0) return "entry of term 0";
        if (e->term < prev) return "entry terms go down";
        if (e->term > m->term) return "entry of a term above the leader's";
        if (e->type > RAFT_ENTRY_CONF) return "unknown entry type";
        if (e->len && !e->data) return "entry data missing";
        prev = e->term;
    }
    return NULL;
}

/* A (last or previous) log position: index 0 is the empty log's, of term 0; every
 * entry has a term of at least 1. Its term cannot exceed the sender's term. */
static const char *position_refusal(const struct raft_msg *m)
{
    if ((m->index == 0) != (m->log_term == 0)) return "log index and log term disagree";
    if (m->log_term > m->term) return "log term above the message's term";
    return NULL;
}

/* Per type. Responses from a server that answers with its own term: a follower's
 * log never holds a term above its current term. */
static const char *type_refusal(const struct raft_msg *m)
{
    switch (m->type) {
    case RAFT_MSG_APPEND: {
        const char *why = position_refusal(m);
        return why ? why : entries_refusal(m);
    }
    case RAFT_MSG_VOTE:
    case RAFT_MSG_PREVOTE:
        return position_refusal(m);
    case RAFT_MSG_SNAPSHOT:
        if (m->index == 0 || m->log_term == 0) return "snapshot of index or term 0";
        if (m->log_term > m->term) return "snapshot term above the message's term";
        if (m->offset > UINT64_MAX - m->chunk_len) return "chunk offset overflows";
        if (m->chunk_len && !m->chunk) return "chunk data missing";
        /* The codec decodes a valid one; a driver stepping its own must too (the
         * driver stores it, and raft_conf_encode() asserts it). */
        if (!raft_conf_valid(&m->conf)) return "invalid configuration";
        return NULL;
    case RAFT_MSG_APPEND_RESP:
        if (m->hint_term > m->term) return "hint term above the message's term";
        return NULL;
    default:
        return NULL;
    }
}

const char *raft_msg_refusal(const struct raft_msg *m)
{
    /* Term 0 means "before any election": only a server still there sends a message,
     * and the only one it sends is its refusal of a PreVote (election.c answers with
     * its own term; a granted PreVote carries the candidate's, at least 1). */
    if (m->term == 0 && !(m->type == RAFT_MSG_PREVOTE_RESP && m->reject)) return "term 0";
    if (m->term > RAFT_TERM_MAX || m->log_term > RAFT_TERM_MAX || m->hint_term > RAFT_TERM_MAX)
        return "term above RAFT_TERM_MAX";
    if (m->index > RAFT_INDEX_MAX || m->commit > RAFT_INDEX_MAX || m->hint > RAFT_INDEX_MAX)
        return "index above RAFT_INDEX_MAX";
    if (m->type != RAFT_MSG_APPEND && m->n_entries) return "entries in a message other than APPEND";
    return type_refusal(m);
}
