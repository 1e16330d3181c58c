/*
 * raft/election.c - leader election (§3.4), PreVote (§9.6), vote granting (§3.6.1).
 *
 * Timeouts are counted in ticks and randomized in [election_ticks, 2*election_ticks)
 * from the core's seeded PRNG (§3.4: randomized timeouts make split votes rare).
 * With PreVote a would-be candidate first asks "would you vote for me at term+1?"
 * without changing any term; only a majority of yeses starts a real election, so a
 * partitioned server that rejoins cannot depose a healthy leader by bumping terms.
 */
#include "raft_int.h"

void raft_reset_timeout(struct raft *r)
{
    r->timeout = r->cfg.election_ticks + (uint32_t)(raft_rand(r) % r->cfg.election_ticks);
}

/* Whether this server stands for election: a voter of its latest configuration; or,
 * while the entry that removed it (or made it a learner) is not committed, a voter of
 * the configuration before. Its log may be the only up-to-date one left (the entry
 * reached it and not the others, and its leader is gone): without it the others could
 * never elect one another, since it votes for no shorter log. Elected, it counts the
 * votes and acknowledgements of the configuration it holds, not its own (§4.2.2, as a
 * leader that removes itself), commits the entry and steps down
 * (raft_member_on_commit).
 *
 * A learner stands for the same reason when a candidate asked it for its vote (the
 * candidate counts it as a voter: it holds an entry promoting it that the learner does
 * not, perhaps never committed) and it refused for its log. Its log, more up to date,
 * may be the only one left holding a newer leader's entries (that leader replicated them
 * to it alone, then was lost): the candidate's voters could then never elect one another
 * without its vote, and it grants none to a shorter log. It counts the votes of its own
 * configuration, as any candidate does (that it is not one of its voters changes nothing
 * to the election's safety, as for a leader removing itself, §4.2.2); elected, it
 * commits its no-op and steps down as above, its log now on a majority of its voters,
 * who elect one of their own. The request, not a leader, is what tells it: hearing from
 * a leader, it forgets it was asked. Otherwise a learner never stands. */
static bool may_campaign(const struct raft *r)
{
    if (r->recovering) return false;
    if (raft_is_voter(r, r->id) || r->asked_as_voter) return true;
    if (r->conf_index == 0 || r->conf_index <= r->commit) return false;
    struct raft_conf before;
    raft_member_conf_at(r, r->conf_index - 1, &before);
    int i = raft_conf_find(&before, r->id);
    return i >= 0 && before.s[i].voter;
}

void raft_election_tick(struct raft *r)
{
    r->election_elapsed++;
    if (r->election_elapsed >= r->timeout && may_campaign(r)) {
        r->election_elapsed = 0;
        raft_campaign(r, r->cfg.pre_vote, false);
    }
}

static uint32_t count_votes(const struct raft *r, int8_t which)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->n_prs; i++)
        n += r->prs[i].voter && r->prs[i].vote == which;
    return n;
}

/* Starts a (pre-)election: vote for ourselves, ask every other voter. Not at
 * RAFT_TERM_MAX (raft.h, TERMS): the election's term would be above it, and every
 * server would refuse its requests; the server stays (or goes back to) a follower. */
void raft_campaign(struct raft *r, bool pre, bool transfer)
{
    if (r->term >= RAFT_TERM_MAX) {
        r->campaigns_refused++;
        if (r->role != RAFT_FOLLOWER) raft_become_follower(r, r->term, 0);
        return;
    }
    r->asked_as_voter = false; /* it stands once per refusal */
    raft_become_candidate(r, pre);
    if (count_votes(r, 1) >= raft_quorum(r)) { /* a cluster of one */
        if (pre)
            raft_campaign(r, false, transfer);
        else
            raft_become_leader(r);
        return;
    }
    raft_index last = rlog_last(&r->log);
    raft_term last_term = rlog_last_term(&r->log);
    for (uint32_t i = 0; i < r->n_prs; i++) {
        struct progress *p = &r->prs[i];
        if (!p->voter || p->id == r->id) continue;
        struct raft_msg *m = raft_msg_new(r, pre ? RAFT_MSG_PREVOTE : RAFT_MSG_VOTE, p->id);
        if (!m) continue;
        m->term = pre ? r->term + 1 : r->term;
        m->index = last;
        m->log_term = last_term;
        m->transfer = transfer;
    }
}

/* §3.6.1: the candidate's log must be at least as up-to-date as ours: a later last
 * term, or the same last term and at least as long. */
static bool log_up_to_date(const struct raft *r, raft_term last_term, raft_index last)
{
    raft_term my_term = rlog_last_term(&r->log);
    return last_term > my_term || (last_term == my_term && last >= rlog_last(&r->log));
}

/* Fig. 3.1 RequestVote receiver: grant if we have not voted for someone else in this
 * term and the candidate's log is up to date. A PreVote is granted on the same log
 * rule when its (future) term is above ours, and changes nothing here. */
void raft_handle_vote(struct raft *r, const struct raft_msg *m)
{
    bool pre = m->type == RAFT_MSG_PREVOTE;
    bool can_vote =
        r->vote == m->from || (r->vote == 0 && r->leader == 0) || (pre && m->term > r->term);
    /* A server that may have lost state it acknowledged votes for no one until it has
     * caught up (raft_set_recovering()). */
    bool up_to_date = log_up_to_date(r, m->log_term, m->index);
    bool grant = can_vote && !r->recovering && up_to_date;
    if (!up_to_date && !raft_is_voter(r, r->id)) r->asked_as_voter = true; /* may_campaign() */
    struct raft_msg *o = raft_msg_new(r, pre ? RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP, m->from);
    if (!o) return;
    o->reject = !grant;
    if (grant && pre) {
        o->term = m->term; /* so the pre-candidate does not discard it as stale */
    } else if (grant) {
        r->vote = m->from;
        r->election_elapsed = 0;
    }
}

void raft_handle_vote_resp(struct raft *r, const struct raft_msg *m)
{
    bool pre = m->type == RAFT_MSG_PREVOTE_RESP;
    if (r->role != (pre ? RAFT_PRECANDIDATE : RAFT_CANDIDATE)) return;
    /* A granted PreVote carries our future term; everything else carries ours. */
    if (m->term != (pre && !m->reject ? r->term + 1 : r->term)) return;
    struct progress *p = raft_pr(r, m->from);
    if (!p || !p->voter) return;
    p->vote = m->reject ? -1 : 1;
    if (count_votes(r, 1) >= raft_quorum(r)) {
        if (pre)
            raft_campaign(r, false, false);
        else
            raft_become_leader(r);
    } else if (count_votes(r, -1) >= raft_quorum(r)) {
        raft_become_follower(r, r->term, 0);
    }
}
