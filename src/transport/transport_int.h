/*
 * src/transport/transport_int.h - private to the transport module's files
 * (src/transport/transport.c: the peer links; src/transport/transport_out.c: what goes out on
 * them; src/transport/transport_proxy.c: the proxy link; src/transport/transport_call.c: one-shot
 * requests): the state they share and the helpers they call across. Nothing
 * else includes it; the rest of the server uses transport.h, which documents
 * the module.
 */
#ifndef TRANSPORT_INT_H
#define TRANSPORT_INT_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "base/fifo.h"
#include "resp/parser.h"
#include "resp/writer.h"
#include "transport/transport.h"

struct fwd;  /* src/transport/transport_proxy.c */
struct call; /* src/transport/transport_call.c */
struct rlink;
struct tls_ctx;

/* What a command on a peer link waits for: its reply is the next frame
 * once those of the commands before it came. */
enum pend_kind { PEND_AUTH = 1, PEND_MSG = 2 };
struct pend {
    uint8_t kind;  /* enum pend_kind */
    uint64_t cost; /* what it added to pending_bytes */
};

/* One peer: its address, its link and the counters RAFT.INFO shows. */
struct peer {
    struct transport *t;
    uint64_t id;
    char host[TRANSPORT_HOST_MAX];
    int port;
    enum transport_state state;
    struct rlink *link;  /* the live link; NULL when disconnected */
    ev_timer timer;      /* back-off / connect timeout / reply timeout, by state */
    uint32_t backoff_ms; /* delay before the next retry */
    uint64_t pending_bytes;
    int64_t event_us; /* monotonic time of the last connection event */
    int authed;       /* the live link's RAFT.AUTH was accepted */
    int down_logged;  /* a failure was logged at notice since the last success */
    int auth_refused; /* the last RAFT.AUTH got an error (log it once) */
    int unflushed;    /* messages queued since the last transport_flush() */
    uint64_t sent, dropped, errors, connects;
    uint64_t expect_inc, seen_inc; /* incarnations: see transport_expect_incarnation */
    uint64_t inc_mismatches, lost_state_refusals;
    int refusing_lost_state; /* the last RAFT.AUTH reply was -LOSTSTATE */
    int peer_recovering;     /* its last "+OK <inc> recovering" said so */
    int64_t due_us;          /* when the timer should fire (monotonic) */
    struct fifo pend;        /* struct pend: the commands on the live link, oldest first */
};

/* A raw RESP client connection (src/transport/transport_link.c): bytes go
 * out as given, each reply comes back as its bytes, cut by resp/frame.h.
 * Callbacks run from the loop; `lost` is the last one (the link is freed
 * when it returns: the owner forgets it there). A callback may close its
 * own link. */
struct rlink;
struct rlink_ops {
    void (*connected)(void *ud);
    void (*frame)(void *ud, const char *reply, size_t len);
    void (*lost)(void *ud, const char *why);
    /* A raw link's (NULL: replies cut into frames): every unconsumed byte
     * read so far, p[0..len); returns how many it consumed (the rest comes
     * again, with more). Then frame is never called. */
    size_t (*bytes)(void *ud, const char *p, size_t len);
};
/* NULL when no connection can be started (unknown host, no socket). tls:
 * NULL for a plain link, else the contexts it dials with (a reference is
 * taken; src/tls/tls.h). */
struct rlink *rlink_open(struct ev_loop *loop, const char *host, int port, struct tls_ctx *tls,
                         const struct rlink_ops *ops, void *ud);
/* Queue bytes to send, in order; they go once connected, from the loop or
 * rlink_flush(). send_argv frames the command argv[0..argc) (argc >= 1) as a
 * client would; send_bytes copies; send_owned takes p (malloc'd). */
void rlink_send_argv(struct rlink *l, int argc, const struct resp_arg *argv);
void rlink_send_bytes(struct rlink *l, const char *p, size_t len);
void rlink_send_owned(struct rlink *l, char *p, size_t len);
/* Writes what the socket takes now. 0, or -1 when that lost the link (its
 * `lost` callback ran and it is freed). */
int rlink_flush(struct rlink *l);
uint64_t rlink_pending(const struct rlink *l); /* bytes queued, not written */
int rlink_fd(const struct rlink *l);
/* l's callbacks go to ops/ud from now on (a pipeline's link kept idle). */
void rlink_rebind(struct rlink *l, const struct rlink_ops *ops, void *ud);
/* Closes and frees l (NULL: nothing); no callback follows. */
void rlink_close(struct rlink *l);
int rlink_connected(const struct rlink *l);
/* Reading stops (paused 1) or goes on (0): what is unread waits in the
 * socket, and the other side's sending stops once the buffers fill. A
 * raw link's unconsumed bytes come again when reading goes on. */
void rlink_pause(struct rlink *l, int paused);

/* One proxy link (see transport.h): a shared one, for the clients of one
 * protocol, or a session, one client's own. Its queue is a ring in forward
 * order: the first n_failed entries were lost with an earlier connection
 * and wait for delivery (by `deliver`, a zero-delay timer, or before the
 * next reply); the others are pending on the live connection, the
 * handshake's own commands among them (internal entries). */
struct fwd_link {
    struct transport *t;
    int proto;          /* the protocol the leader's side speaks: 2 on a new connection */
    uint64_t leader_id; /* where link goes; 0 when no link */
    struct rlink *link; /* NULL when no link */
    uint64_t link_id;   /* the live connection's number (transport-wide); 0 when none */
    int connected;
    int db;            /* the database the leader's side has selected; -1: not known */
    ev_timer timer;    /* connect timeout, then forward timeout */
    ev_timer deliver;  /* delivers failures from the loop */
    struct fifo q;     /* struct fwd, oldest first */
    size_t n_failed;   /* q's first ones: their link went, failures to deliver */
    size_t n_internal; /* the link's own entries among them */
    uint64_t bytes;    /* sum of q's costs */
    struct fwd_link *prev_s, *next_s; /* sessions: the transport's list */
};

/* A client's own proxy link (transport.h, "Sessions"). */
struct transport_session {
    struct fwd_link l;
};

/* The follower's proxy links and what they share. */
struct fwd_links {
    struct fwd_link by_proto[2]; /* shared: [0] RESP2, [1] RESP3 */
    struct fwd_link *sessions;   /* every session's link */
    uint64_t n_sessions;
    uint64_t last_link_id;
    char *password; /* password_len bytes (may hold NULs); 0 = no AUTH */
    size_t password_len;
    uint32_t timeout_ms;
};

struct transport {
    struct ev_loop *loop;
    uint64_t self_id;
    const char *label; /* how log lines name a peer: "Peer" (transport_set_label) */
    char self_str[24]; /* self_id in decimal, as sent on the wire */
    char self_addr[TRANSPORT_HOST_MAX + 8]; /* host:port announced in RAFT.AUTH, or "" */
    char inc_str[24];                       /* our incarnation in decimal, "" = none */
    int recovering;                         /* RAFT.AUTH says "recovering" */
    uint64_t lost_state_refusals;           /* -LOSTSTATE replies from any peer, ever */
    char *secret;
    size_t secret_len;
    struct transport_limits lim;
    struct peer **peers; /* pointers: the embedded ev_timer must never move */
    size_t n_peers, cap_peers;
    struct fwd_links fwd;
    struct call *calls[TRANSPORT_CALLS_MAX]; /* in flight, unordered */
    size_t n_calls;
    struct pipe_idle *idle[TRANSPORT_PIPE_IDLE_MAX]; /* pipelines' links kept, unordered */
    size_t n_idle;
    struct tls_ctx *tls; /* what new links dial with (transport_set_tls); NULL: plain */
};

/* The peer with that id, or NULL; its position in t->peers into *pos
 * (when pos is not NULL). */
struct peer *transport_find_peer(const struct transport *t, uint64_t id, size_t *pos);
/* 1 if a command costing `cost` does not fit in a queue holding cmds
 * commands and bytes bytes. One command of any size is admitted into an
 * empty queue, so that one above pending_bytes_max delays the next ones
 * instead of never going. */
int transport_queue_full(const struct transport_limits *lim, uint64_t cmds, uint64_t bytes,
                         uint64_t cost);

/* Between the peer links (src/transport/transport.c) and what goes out on them
 * (src/transport/transport_out.c). */
/* (Re)starts p's timer as a one-shot of ms milliseconds from now
 * (src/transport/transport.c). */
void transport_arm(struct peer *p, uint32_t ms);
/* The reply to p's oldest pending command arrived: bookkeeping, and its
 * kind (src/transport/transport.c). */
enum pend_kind transport_reply_taken(struct peer *p);
/* A RAFT.MSG or PING reply (src/transport/transport_out.c). */
void transport_msg_reply(struct peer *p, const char *frame, size_t len);
/* Queues one command on p's live link, of that kind, cost what it adds to
 * pending_bytes (src/transport/transport_out.c). */
void transport_queue_cmd(struct peer *p, enum pend_kind kind, int argc, const char **argv,
                         const size_t *argvlen, uint64_t cost);
/* Records a command queued on p's live link (src/transport/transport_out.c). */
void transport_pend_push(struct peer *p, enum pend_kind kind, uint64_t cost);

/* The proxy link's part of transport_create(), transport_free() and of a
 * peer that changes address or goes (src/transport/transport_proxy.c). */
void transport_fwd_init(struct transport *t);
void transport_fwd_free(struct transport *t);
void transport_fwd_peer_changed(struct transport *t, uint64_t id);
/* Shutdown: requests in flight are dropped without callbacks
 * (src/transport/transport_call.c). */
void transport_calls_free(struct transport *t);

#endif
