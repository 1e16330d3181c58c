/*
 * src/cmd/client.h - one client connection's state, as seen by commands.
 *
 * Owns: the query buffer, the parser state, the reply buffer, the MULTI queue
 * and the watched-key list of one connection. The socket and its libev
 * watchers belong to src/net/conn.c (struct conn embeds a struct client), so no
 * command file depends on the event loop.
 *
 * Lifetime: a client is freed by the connection layer only between events,
 * never while one of its commands runs; a command that wants the connection
 * gone sets CLIENT_CLOSE_AFTER_REPLY (QUIT, protocol error) or
 * CLIENT_CLOSE_ASAP (CLIENT KILL, output limit).
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include "resp/parser.h"
#include "resp/writer.h"

struct server;
struct command;
struct blocked_client;
struct pubsub_client;
struct tracking_client;

/* Client flags (struct client.flags): unsigned, so that masks like
 * ~CLIENT_MULTI keep their type. */
#define CLIENT_AUTHED (1u << 0)
#define CLIENT_MULTI (1u << 1)             /* inside MULTI */
#define CLIENT_DIRTY_CAS (1u << 2)         /* a watched key changed: EXEC fails */
#define CLIENT_DIRTY_EXEC (1u << 3)        /* a queued command was refused: EXECABORT */
#define CLIENT_CLOSE_AFTER_REPLY (1u << 4) /* flush pending output, then close */
#define CLIENT_CLOSE_ASAP (1u << 5)        /* close without flushing */
#define CLIENT_PENDING_WRITE (1u << 6)     /* on the server's pending-write list */
#define CLIENT_READONLY (1u << 7)          /* READONLY: reads served locally on followers */
#define CLIENT_PEER (1u << 8)              /* presented raft-secret: a Raft peer */
#define CLIENT_PROTECTED (1u << 9)   /* not loopback, protected mode: only RAFT.AUTH may run */
#define CLIENT_OVER_LIMIT (1u << 10) /* accepted beyond maxclients: RAFT.AUTH or out */
/* A keyless read of this client was forwarded to the leader: its later
 * reads on a follower are forwarded too (src/server/proxy.h). */
#define CLIENT_LEADER_READS (1u << 11)
/* RAFT.READONLY: with CLIENT_READONLY, a read on a follower is served there
 * once the leader confirmed its commit index and the follower applied that
 * far (linearizable follower reads, src/node/node.h); without, READONLY's
 * reads are stale. */
#define CLIENT_LINEARIZABLE_READS (1u << 19)
/* Input read this loop iteration, not parsed yet (src/net/conn.c). */
#define CLIENT_READABLE (1u << 12)
/* Subscribed to a channel, pattern or shard channel (src/server/pubsub.h): over
 * RESP2 it may only (un)subscribe, PING, QUIT and RESET; the pubsub class
 * of client-output-buffer-limit applies to it. */
#define CLIENT_PUBSUB (1u << 13)
/* A peer's pub/sub link (it sent RAFT.PUBLISH): its bytes are no sign of
 * life for Raft (src/net/conn.c calls node_receiving for the other peer links). */
#define CLIENT_PUBSUB_LINK (1u << 14)
/* MONITOR: every command this node runs for its clients is streamed to it
 * (src/server/monitors.h). */
#define CLIENT_MONITOR (1u << 15)
/* CLIENT REPLY OFF: replies are dropped until CLIENT REPLY ON; SKIP_NEXT
 * (set by CLIENT REPLY SKIP) becomes SKIP once that command is done, and
 * SKIP drops the reply of the command after it (see client.reply_muted). */
#define CLIENT_REPLY_OFF (1u << 16)
#define CLIENT_REPLY_SKIP (1u << 17)
#define CLIENT_REPLY_SKIP_NEXT (1u << 20)
/* CLIENT NO-EVICT ON: shown as flag `e` by CLIENT LIST (raftcache never
 * evicts clients for memory; the flag is kept for tools that set it). */
#define CLIENT_NO_EVICT (1u << 18)
/* Connected to a leader that stepped down: closed once it has nothing in
 * progress (src/servercmd/cmd_sentinel.h). */
#define CLIENT_CLOSE_WHEN_IDLE (1u << 21)
/* Connected over the loopback interface (src/net/conn.c): enable-debug-command
 * local lets it run DEBUG, as Redis's local clients. */
#define CLIENT_LOCAL (1u << 22)
/* Its pipeline stopped until its pending output drains (src/net/conn.c). */
#define CLIENT_OUT_YIELD (1u << 23)
/* Connected over the unixsocket (CLIENT LIST's flag U). */
#define CLIENT_UNIX_SOCKET (1u << 24)
/* Connected over TLS (tls-port); CERT_OK: with a certificate the CA verified
 * (what a peer needs with tls-cluster yes, src/servercmd/cmd_raft.c). */
#define CLIENT_TLS (1u << 25)
#define CLIENT_TLS_CERT_OK (1u << 26)
/* Sent REPLCONF listening-port: a redis-server replica, which SYNC and
 * PSYNC refuse (src/servercmd/cmd_save.h). */
#define CLIENT_REPL_LISTENING (1u << 27)

/* Client-side caching (struct client.tracking, src/server/tracking.h):
 * CLIENT TRACKING ON and its options; CACHING is CLIENT CACHING's decision
 * for the client's next command; BROKEN_REDIR, its REDIRECT connection is
 * gone. */
#define TRACKING_ON (1u << 0)
#define TRACKING_BCAST (1u << 1)
#define TRACKING_OPTIN (1u << 2)
#define TRACKING_OPTOUT (1u << 3)
#define TRACKING_NOLOOP (1u << 4)
#define TRACKING_CACHING (1u << 5)
#define TRACKING_BROKEN_REDIR (1u << 6)

/* Maintenance notifications (struct client.maint, src/server/maint.h):
 * CLIENT MAINT_NOTIFICATIONS ON; NO_ENDPOINT, moving-endpoint-type none
 * (MOVING names no address); FAILING, told FAILING_OVER and not
 * FAILED_OVER yet; MOVED, told MOVING: on its way to the leader. Such a
 * client is moved, never closed nor redirected. */
#define MAINT_ON (1u << 0)
#define MAINT_NO_ENDPOINT (1u << 1)
#define MAINT_FAILING (1u << 2)
#define MAINT_MOVED (1u << 3)

/* A write's reply tag, which src/node/waiters.h keeps with each waiting write and
 * sm_apply() honours: REPLY_TAG_MUTED, its reply is dropped (CLIENT REPLY,
 * client.reply_muted when it was dispatched); REPLY_TAG_AS(id), statistics
 * count the call as command id, the command the client sent, where the log
 * holds another form of it (EXPIRE goes to the log as PEXPIREAT: the leader
 * counts expire, as a Redis master does, the followers pexpireat, as its
 * replicas do). */
#define REPLY_TAG_MUTED 1u
#define REPLY_TAG_AS(id) ((uint32_t)((id) + 1) << 1)
/* The command id of REPLY_TAG_AS in tag, or -1. */
static inline int reply_tag_as(uint32_t tag)
{
    return (int)(tag >> 1) - 1;
}

/* Connections that are not clients as users see them: peer links (the
 * Raft links, proxy links and one-shot requests of other nodes) and those
 * that may still turn out to be one. CLIENT LIST and CLIENT KILL skip them,
 * connected_clients and maxclients do not count them, timeout spares them,
 * as Redis treats its cluster bus. */
#define CLIENT_NOT_A_CLIENT (CLIENT_PEER | CLIENT_OVER_LIMIT)

/* Inbound peer links a node holds at most: from each of the other
 * RAFT_MAX_NODES - 1 members its Raft link, its proxy link and its pub/sub
 * link, plus the one-shot requests (TRANSPORT_CALLS_MAX) of a node joining. */
#define CONN_PEER_LINKS_MAX 64

/* Connections accepted beyond maxclients that have not presented RAFT.AUTH
 * yet, at most. Their room is not the peer links': a connection that never
 * proves to be a peer holds no room an authenticated link needs, and when
 * this room is full the oldest such connection makes way for the new one.
 * (A node reconnecting needs two: its Raft link and its proxy link.) */
#define CONN_PENDING_PEERS_MAX 24

/* Where the command a client holds (client.held_cmd) stands: the waiting
 * client's state machine. A held command stops the client: nothing it sent
 * after runs until the command is taken up again or answered. Every change
 * goes through client_hold_to(), which ASSERTs that it is one of these:
 *
 *   NONE -> BEHIND       it must wait behind the client's earlier commands
 *                        (writes in the log, a read round, forwarded
 *                        replies): not taken up yet (src/server/dispatch.c)
 *   NONE -> PAUSED       taken up while CLIENT PAUSE holds it back; not
 *                        counted yet (src/server/pause.h)
 *   PAUSED -> BEHIND     the pause ended: it is taken up again from the start
 *   NONE -> CHECKED      checked and counted; waits for its route (a leader,
 *                        a read round) or on keys (src/server/blocked.h)
 *   NONE, CHECKED -> IN_LOG   a blocking call proposed to the log: answered
 *                        when its entry is applied
 *   IN_LOG -> SERVED     applied, and it was served: its reply is written
 *                        (src/sm/sm.c)
 *   IN_LOG -> CHECKED    applied, found nothing (another pop came first):
 *                        it runs again, to block (src/node/waiters.c)
 *   IN_LOG, SERVED -> ANSWERED   its entry's write was answered: an error,
 *                        or it was served
 *   CHECKED -> ANSWERED  answered below: its read round failed, its wait on
 *                        keys timed out or was unblocked
 *   BEHIND, CHECKED, ANSWERED -> NONE   the dispatcher takes it when the
 *                        client runs again (an ANSWERED one is dropped)
 *
 * held_cmd is NULL in NONE, and may be NULL in BEHIND (an unknown command,
 * whose error must not overtake the replies before it). */
enum client_hold {
    HOLD_NONE = 0,
    HOLD_BEHIND,
    HOLD_PAUSED,
    HOLD_CHECKED,
    HOLD_IN_LOG,
    HOLD_SERVED,
    HOLD_ANSWERED,
};

/* A command queued by MULTI: owned copies of its arguments. */
struct multi_cmd {
    int argc;
    struct resp_arg *argv; /* argv[i].ptr are owned by the queue */
};

struct multi_state {
    struct multi_cmd *cmds;
    int count, cap;
    uint32_t cmd_flags; /* union of the queued commands' flags: CMD_WRITE sends
                         * EXEC through the log, CMD_DENYOOM makes it OOM-checked */
    int prepared;       /* multi_exec_prepare() ran (src/server/multi.h) */
};

/* A key this client watches; linked into both the client's and the server's
 * watch index (src/server/multi.c). */
struct watched_key;
struct transport_session; /* src/transport/transport.h */

struct acl_user;

struct client {
    uint64_t id;
    struct server *srv;
    uint32_t flags;
    int fd;
    int db; /* the database selected (SELECT): 0 at first */
    /* input */
    char *qbuf; /* owned */
    size_t qlen, qcap;
    struct resp_parser parser;
    /* output */
    struct resp_out out;
    /* identity, for CLIENT LIST/INFO */
    char *name, *lib_name, *lib_ver; /* owned, NULL when unset */
    /* The ACL user it runs as (src/server/aclstate.h; NULL for the apply
     * path, and a peer link, which no user restricts) and that user's name
     * (the user object's own: CLIENT LIST's user=). */
    struct acl_user *user;
    const char *user_name;
    /* rename-command (src/cmd/rename.h): a command's arguments with the
     * name it sent replaced by the registry's (owned; src/server/dispatch.c) */
    struct resp_arg *renamed_argv;
    int renamed_cap;
    uint8_t name_hidden; /* the command taken up names one renamed or taken away */
    char addr[64], laddr[64];
    int64_t ctime_ms, last_interaction_ms;
    const char *last_cmd; /* static name of the last command */
    uint64_t cmd_count;
    /* replication (src/node/node.c): what this client waits for */
    uint32_t pending_writes;   /* proposed, not yet applied */
    uint32_t pending_proxied;  /* forwarded to the leader, reply not yet in (src/server/proxy.h) */
    uint64_t proxied_relayed;  /* forwarded commands whose reply was relayed, so far */
    uint64_t last_write_index; /* the log entry of its last write proposed here; 0: none */
    uint8_t waiting_acks;      /* its WAIT waits for followers (src/server/replwait.h) */
    struct migrate *migrating; /* its MIGRATE under way (src/server/migrate.h), or NULL */
    /* Its own proxy link to the leader (a session, src/server/proxy.h), NULL
     * when it has none; the number of the session's connection its WATCH
     * went on, 0 when the leader watches no key for it. */
    struct transport_session *proxy_session;
    uint64_t proxy_watch_link;
    int waiting_read;          /* a ReadIndex round is on for it */
    uint64_t in_received;      /* stream bytes received so far */
    uint64_t cur_cmd_end;      /* stream position where the current command ends */
    uint64_t read_cleared_end; /* reads ending at or before this may run */
    uint64_t read_failed_end;  /* follower reads ending at or before this go to the leader:
                                * the leader did not confirm them */
    uint64_t peer_id;          /* CLIENT_PEER: the node id RAFT.AUTH presented */
    /* The command that was told to wait, resolved (src/server/dispatch.c): taken up
     * where it stopped when the client is woken, never looked up again. Its
     * arguments stay parsed too (src/net/conn.c). hold: where it stands
     * (enum client_hold; changed by client_hold_to() only). */
    const struct command *held_cmd;
    enum client_hold hold;
    /* CLIENT REPLY: whether the reply of the client's current command (the
     * one being dispatched, or held until answered) is dropped, decided once
     * when the command is taken up (src/server/dispatch.c). A reply written later
     * (applied write, forwarded command, blocked timeout) carries its own
     * copy of this decision (src/node/waiters.h, src/server/proxy.c), since the client
     * may have dispatched more commands meanwhile. */
    uint8_t reply_muted;
    /* MONITOR was fed the current command (src/server/dispatch.c): once only. */
    uint8_t monitor_fed;
    /* A command of it was routed while this node led (src/server/dispatch.c): if
     * the node stops leading, the client is one of the leader's, closed
     * rather than redirected (stepdown-close-clients, src/servercmd/cmd_sentinel.h). */
    uint8_t talked_to_leader;
    /* While a muted command runs, out is a scratch buffer and this points to
     * the real one: pushes (pub/sub confirmations) and CLIENT REPLY ON's
     * +OK go there (client_push_out), as Redis 7.0 never silences pushes. */
    struct resp_out *unmuted;
    /* Client-side caching (src/server/tracking.h): TRACKING_* flags, the
     * REDIRECT connection's id (0: none), and the mode's own state (BCAST
     * prefixes, messages held back), NULL while tracking is off. */
    uint8_t tracking;
    /* CLIENT MAINT_NOTIFICATIONS: MAINT_* flags (src/server/maint.h) */
    uint8_t maint;
    uint64_t tracking_redirect;
    struct tracking_client *tracking_state;
    /* Its wait on keys (src/server/blocked.h), NULL when it is not blocked. */
    struct blocked_client *blocked;
    /* pub/sub (src/server/pubsub.h): its subscriptions, NULL when none; how many
     * channels, patterns and shard channels (enum pubsub_kind's order) */
    struct pubsub_client *pubsub;
    uint32_t n_subs[3];
    /* transactions */
    struct multi_state mstate;
    struct watched_key *watched; /* singly linked list of this client's watches */
    int watched_count;
    /* server lists */
    struct client *prev, *next;   /* all clients */
    struct client *pending_next;  /* clients with output to flush */
    struct client **pending_head; /* the list client_mark_pending() puts it on */
    size_t fixed_bytes;           /* the connection's own allocation (CLIENT LIST tot-mem) */
};

/* Where a push (a pub/sub confirmation) to c goes: its real output buffer,
 * even while its current command's reply is dropped (CLIENT REPLY). */
static inline struct resp_out *client_push_out(struct client *c)
{
    return c->unmuted ? c->unmuted : &c->out;
}
/* Moves c's held command to state to: ASSERTs that the move is one of enum
 * client_hold's. To HOLD_NONE, held_cmd is cleared. */
void client_hold_to(struct client *c, enum client_hold to);
/* 1 if c's held command is a blocking call in the log (IN_LOG or SERVED):
 * it is answered when its entry is applied, and runs nothing before. */
static inline int client_in_log(const struct client *c)
{
    return c->hold == HOLD_IN_LOG || c->hold == HOLD_SERVED;
}
/* Marks the client as having output to flush before the loop sleeps. */
void client_mark_pending(struct client *c);
/* Asks the connection layer to close the client after its reply is flushed
 * (it stops reading the client's input at the next flush). */
void client_close_after_reply(struct client *c);
/* Closes the client at the next flush, dropping pending output. */
void client_close_asap(struct client *c);
/* Formats the CLIENT LIST line of a client (no trailing newline). */
size_t client_format_info(const struct client *c, char *buf, size_t cap, int64_t now_ms);

/* What a connection holds: its struct, its query buffer and its output
 * buffer (CLIENT LIST's tot-mem). */
static inline size_t client_memory(const struct client *c)
{
    return c->fixed_bytes + c->qcap + c->out.cap;
}

#endif
