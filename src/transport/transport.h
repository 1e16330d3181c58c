/*
 * src/transport/transport.h - the peer transport: delivers the Raft core's
 * encoded messages to the other nodes of the cluster (the outbound side),
 * and checks what arrives from them (the inbound side, at the end).
 *
 * One outgoing connection per peer, on the peer's address (a port clients
 * use too), speaking RESP as a client on the node's libev loop
 * (src/transport/transport_link.c), in plain TCP or, after
 * transport_set_tls(), in TLS with the node's certificate, the peer's
 * checked against the CA. Messages travel one way on a connection: replies
 * to them (Raft's *_RESP messages) come back on the connection the other
 * node opens to us, so two nodes talking to each other use two connections.
 *
 * WIRE PROTOCOL (both sides are here: the outbound in this module's
 * transport*.c, the inbound's checks and replies in transport_in.c, which
 * the server's RAFT.* commands call; every argument is a RESP bulk string,
 * binary-safe):
 *
 *   RAFT.AUTH <raft-secret> <from-node-id> [<from-host:port> [<incarnation> [recovering]]]
 *       The first command of every connection, pipelined: the transport does
 *       not wait for its reply before sending messages behind it.
 *       <from-node-id> is the sender's node id in decimal; <from-host:port>
 *       (sent once transport_set_self_addr() set it; "" when an incarnation
 *       follows and no address is set) is where the sender listens, so a node
 *       that does not know it yet (it is joining the cluster) can answer it.
 *       <incarnation> (sent once transport_set_incarnation() set it) is the
 *       sender's store incarnation in decimal (src/storage/storage.h, IDENTITY);
 *       "recovering" follows while transport_set_recovering() is on: the
 *       sender knows it lost state and will not vote until it caught up.
 *       A connection may send RAFT.AUTH again (when that changes).
 *       Inbound side: +OK when <raft-secret> equals the node's configured
 *       raft-secret (compare in constant time); the connection is then a peer
 *       connection from <from-node-id> and counts as authenticated (requirepass
 *       does not apply to it, nor the parser's unauthenticated size limits, so
 *       the check must take effect before the next pipelined command is
 *       parsed). Otherwise, and always when no raft-secret is configured, an
 *       error reply (e.g. "-ERR invalid raft-secret"); the inbound side may
 *       close the connection after it. RAFT.AUTH must work before AUTH even
 *       when requirepass is set.
 *       INCARNATIONS. When the request carries <incarnation>, the inbound side
 *       refuses a sender that once presented another one (it lost its Raft
 *       state: its dir was wiped or replaced) and does not say "recovering",
 *       with an error starting with "LOSTSTATE", and otherwise answers
 *       "+OK <its own incarnation>" (followed by " recovering" when it is).
 *       The transport compares that with the one it expects of the peer
 *       (transport_expect_incarnation()): another one, without " recovering",
 *       is refused like an error reply. Counted in struct
 *       transport_peer_info, for the node to act on.
 *
 *   RAFT.MSG <from-node-id> <payload>
 *       One Raft message: <payload> is exactly the bytes raft_encode() wrote.
 *       Inbound side: on a connection without a successful RAFT.AUTH, or whose
 *       <from-node-id> differs from the one authenticated, an error reply and
 *       no effect at all (an ordinary client sending it changes nothing).
 *       Otherwise +OK once the payload is taken (decoded and stepped, or queued
 *       for the core); an error reply if it does not decode or the core
 *       refuses it (raft.h, MESSAGES FROM THE NETWORK: an absurd term, index
 *       or count), logged by the receiver at most once per 10 s
 *       (src/node/node.h, node_receive). The reply carries no Raft information: it
 *       only paces the sender (see LIMITS).
 *
 *   PING
 *       A keepalive, sent by a node whose loop is busy writing its log (a
 *       large entry takes seconds): the inbound side answers +PONG, as to any
 *       client, and counts the bytes as a sign of life of the peer (the raft
 *       core's raft_receiving()). Only on an authenticated link.
 *
 * The inbound side must answer every command, in order, and never send
 * anything unsolicited (an unsolicited reply closes the link). Its bulk limit
 * (proto-max-bulk-len) must admit the largest encoded message. The transport
 * treats any non-error reply as success.
 * An error reply to RAFT.MSG is counted (errors) and logged at verbose; the
 * connection stays up. An error reply to RAFT.AUTH is counted, logged, and the
 * connection is dropped and retried with back-off.
 *
 * DELIVERY. Messages to one peer arrive in the order transport_send() accepted
 * them, each at most once. Any of them may be lost: the transport drops rather
 * than blocks or grows, because Raft tolerates lost messages and retransmits.
 * A message is dropped (and counted) when the peer is not connected -- nothing
 * is queued while disconnected or connecting -- when its queue is full, and
 * when the connection breaks before the peer has read it.
 *
 * CONNECTIONS. A peer is connecting as soon as it is added. A failed or timed
 * out connect, a broken connection, a refused RAFT.AUTH and a reply timeout
 * all lead to a retry after a back-off that starts at backoff_min_ms and
 * doubles up to backoff_max_ms; it returns to backoff_min_ms when RAFT.AUTH is
 * accepted (not merely when TCP connects, so a peer that accepts and then
 * refuses or hangs up is not hammered). Connections are opened with a
 * non-blocking connect and never waited for. TCP keepalive is enabled.
 * Logging: "Peer N connected" at notice when RAFT.AUTH is accepted, "Peer N
 * disconnected" at notice when such a link is lost; the first failed attempt
 * after that at notice, later ones at verbose; a refused RAFT.AUTH at warning
 * once, then at verbose, so a peer that stays down does not flood the log.
 *
 * LIMITS (struct transport_limits). A command is pending from the moment it is
 * queued until its reply arrives; RAFT.AUTH counts. Per peer, at most
 * pending_cmds_max commands and pending_bytes_max bytes (payload plus
 * TRANSPORT_CMD_OVERHEAD_BYTES per command) may be pending; a send beyond
 * either is dropped with TRANSPORT_EFULL. Exception: when nothing is pending
 * one message is admitted whatever its size, so a message larger than
 * pending_bytes_max is slow, never impossible. The bytes a link buffers for a
 * peer are therefore bounded by max(pending_bytes_max, one message) plus
 * RAFT.AUTH. If commands are pending and no reply arrives for
 * reply_timeout_ms, the peer is considered hung: the connection is dropped and
 * retried (0 disables this).
 *
 * BLOCKING. Nothing here blocks on a peer: connect, write and read are
 * non-blocking and driven by the loop, so a slow or dead peer delays neither
 * the loop nor the other peers. One exception: a host name that is not a
 * numeric address is resolved by getaddrinfo() on each connect attempt,
 * synchronously; use numeric addresses (or /etc/hosts names) in
 * cluster-members and advertise-addr to keep that instant.
 *
 * Preconditions: single-threaded use on the loop's thread; the process ignores
 * SIGPIPE (loop_init() does), since links write with write(2).
 *
 * Ownership: transport_create() copies the secret; host strings are copied;
 * payloads are copied before transport_send() returns (taken by
 * transport_send_framed_owned()). Nothing borrowed is
 * kept. No function here calls back into the caller (the callbacks of the
 * proxy link and of one-shot requests, below, run from the loop only).
 */
#ifndef TRANSPORT_H
#define TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "raft/raft.h"

struct ev_loop;
struct transport;         /* private */
struct transport_session; /* private: one client's proxy link (Sessions, below) */
struct resp_arg;          /* resp/parser.h */

enum transport_err {
    TRANSPORT_OK = 0,
    TRANSPORT_ENOPEER = -1,  /* no peer with this id */
    TRANSPORT_ENOTCONN = -2, /* peer connecting or disconnected: message dropped */
    TRANSPORT_EFULL = -3,    /* peer's pending limit reached: message dropped */
    TRANSPORT_EINVAL = -4,   /* bad argument (id 0 or self, host, port) */
};

#define TRANSPORT_HOST_MAX 256          /* bytes of a host name, NUL included */
#define TRANSPORT_CMD_OVERHEAD_BYTES 64 /* charged per command besides its payload */

struct transport_limits {
    uint32_t pending_cmds_max;   /* unreplied commands per peer */
    uint64_t pending_bytes_max;  /* unreplied bytes per peer */
    uint32_t connect_timeout_ms; /* TCP connect attempt */
    uint32_t reply_timeout_ms;   /* no reply while commands pending; 0 = never */
    uint32_t backoff_min_ms;     /* first retry delay */
    uint32_t backoff_max_ms;     /* delay cap */
};

/* 1024 commands, 64 MB, connect 2000 ms, reply 15000 ms, back-off 100..2000 ms. */
#define TRANSPORT_LIMITS_DEFAULT                                                                   \
    {                                                                                              \
        .pending_cmds_max = 1024, .pending_bytes_max = 64ull << 20, .connect_timeout_ms = 2000,    \
        .reply_timeout_ms = 15000, .backoff_min_ms = 100, .backoff_max_ms = 2000,                  \
    }

enum transport_state {
    TRANSPORT_DISCONNECTED = 0, /* waiting for the back-off before the next attempt */
    TRANSPORT_CONNECTING = 1,   /* TCP connect in progress */
    TRANSPORT_CONNECTED = 2,    /* TCP up; RAFT.AUTH sent (its reply may be pending) */
};

struct transport_peer_info {
    uint64_t id;
    char host[TRANSPORT_HOST_MAX];
    int port;
    enum transport_state state;
    /* Seconds since the last connection event: the peer was added, a
     * connection came up, or an established connection went down. Failed
     * attempts while down do not reset it. */
    int64_t last_conn_secs;
    int64_t last_conn_ms; /* the same in milliseconds */
    uint64_t sent;        /* messages accepted by transport_send() */
    uint64_t dropped;     /* messages refused by transport_send() (ENOTCONN, EFULL) */
    uint64_t errors;      /* error replies (RAFT.AUTH or RAFT.MSG) */
    uint64_t connects;    /* connections established */
    uint32_t pending_cmds;
    uint64_t pending_bytes;
    uint64_t incarnation;         /* presented in the last "+OK <incarnation>" reply on the
                                     current link, 0 none (or no link: the next one may reach
                                     another process) */
    uint64_t inc_mismatches;      /* replies refused: not the expected incarnation */
    uint64_t lost_state_refusals; /* "-LOSTSTATE" replies: the peer says we lost our state */
    int refusing_lost_state;      /* the last RAFT.AUTH reply was one of them */
    int peer_recovering;          /* its last reply on the current link said " recovering" */
};

/* Makes a transport for node self_id (> 0) on loop, presenting secret
 * (secret_len bytes, which may include NUL bytes; 0 = none) to every peer.
 * lim NULL means TRANSPORT_LIMITS_DEFAULT; zero fields of lim are invalid
 * (except reply_timeout_ms) and asserted. Starts with no peers.
 * Allocation failure aborts the process, as elsewhere in the server. */
struct transport *transport_create(struct ev_loop *loop, uint64_t self_id, const char *secret,
                                   size_t secret_len, const struct transport_limits *lim);

/* The TLS contexts (src/tls/tls.h) new links dial with: the peer links, the
 * proxy links and one-shot requests; NULL: plain TCP. A reference is taken
 * (and the previous one dropped); links already up keep their session.
 * transport_free() drops it. */
struct tls_ctx;
void transport_set_tls(struct transport *t, struct tls_ctx *ctx);
/* Closes every connection (pending messages are lost) and frees t. */
void transport_free(struct transport *t);

/* How log lines name a peer of t, before its id ("Peer" by default);
 * label is static (not copied). */
void transport_set_label(struct transport *t, const char *label);

/* The "host:port" RAFT.AUTH announces from the next connection on (""/NULL:
 * none); truncated beyond TRANSPORT_HOST_MAX + 7 bytes. */
void transport_set_self_addr(struct transport *t, const char *addr);

/* The incarnation RAFT.AUTH presents from the next connection on (0: none). */
void transport_set_incarnation(struct transport *t, uint64_t inc);

/* RAFT.AUTH says "recovering" from now on (to a peer whose last reply was
 * -LOSTSTATE, it says so anyway until that peer accepts it); every live link
 * sends RAFT.AUTH again. */
void transport_set_recovering(struct transport *t, int on);

/* The incarnation peer id must answer RAFT.AUTH with (0: any, and whatever it
 * presents shows in transport_peer_info's incarnation, for the caller to
 * record). A live link whose peer presented another one is dropped at once.
 * A changed value resets inc_mismatches. Returns 0 or TRANSPORT_ENOPEER. */
int transport_expect_incarnation(struct transport *t, uint64_t id, uint64_t inc);

/* Adds peer id at host:port and starts connecting, or changes its address:
 * the old connection is closed and a new one started at once (back-off
 * reset). Setting the address it already has changes nothing. Returns 0, or
 * TRANSPORT_EINVAL when id is 0 or self, host is empty or longer than
 * TRANSPORT_HOST_MAX - 1 bytes, or port is outside 1..65535. */
int transport_set_peer(struct transport *t, uint64_t id, const char *host, int port);

/* Forgets peer id and closes its connection; unknown ids are ignored. */
void transport_remove_peer(struct transport *t, uint64_t id);

/* Queues payload[0..len) for peer `to` as one RAFT.MSG. Returns 0 (copied and
 * queued; it will be written as the socket allows), or drops it and returns
 * TRANSPORT_ENOPEER (not counted anywhere), TRANSPORT_ENOTCONN or
 * TRANSPORT_EFULL (both counted in the peer's dropped). payload may be NULL
 * when len is 0. */
int transport_send(struct transport *t, uint64_t to, const void *payload, size_t len);

/*
 * transport_send() for a caller that frames the command itself, so that a
 * large payload is written once, where the link copies it from: cmd holds
 * transport_frame_head(len) (at most TRANSPORT_FRAME_HEAD_MAX bytes), the
 * len payload bytes, then "\r\n"; cmd_len counts all of it. Same checks and
 * results as transport_send(); cmd is copied before the call returns.
 */
#define TRANSPORT_FRAME_HEAD_MAX 96
size_t transport_frame_head(const struct transport *t, size_t len,
                            char head[TRANSPORT_FRAME_HEAD_MAX]);
int transport_send_framed(struct transport *t, uint64_t to, const char *cmd, size_t cmd_len,
                          size_t len);
/* The same, taking cmd (allocated with malloc) instead of copying it: the
 * transport frees it, whatever the result. Saves a copy of a large message. */
int transport_send_framed_owned(struct transport *t, uint64_t to, char *cmd, size_t cmd_len,
                                size_t len);

/* Writes what transport_send() queued to the sockets now, as much as each
 * takes without blocking (the rest goes when the loop finds the socket
 * writable), instead of at the loop's next poll. A driver calls it before a
 * slow step, such as an fsync, so that peers work in the meantime, and may
 * call it during one (it calls nothing outside the transport), so that a
 * large message keeps flowing. */
void transport_flush(struct transport *t);

/* Queues one command, argv[0..argc) (lens[i] bytes each, binary-safe), on
 * peer to's link, with transport_send()'s limits, counters and results: for
 * a transport whose links carry another command than RAFT.MSG (the pub/sub
 * links, src/node/node.h's node_publish). An error reply is counted in errors. */
int transport_send_command(struct transport *t, uint64_t to, int argc, const char **argv,
                           const size_t *lens);

/* Queues a PING on peer to's link (to 0: on every connected peer's), so that
 * it sees bytes from us: a node busy writing a large entry to its log tells
 * its leader or followers it is alive (see PING above). Not counted in sent
 * or dropped. Returns 0, TRANSPORT_ENOPEER, TRANSPORT_ENOTCONN or
 * TRANSPORT_EFULL (not queued; for one peer only). */
int transport_ping(struct transport *t, uint64_t to);

/* Bytes from peer id arrived on its own link to us: it is alive, so the reply
 * timeout of our link to it starts again (it may be busy writing what we
 * sent, a large entry, before it reads on). Unknown ids are ignored. */
void transport_heard(struct transport *t, uint64_t id);

/* Blocks, writing the large messages being fed (see transport_flush()) as the
 * sockets take them, until every one is handed to its socket or timeout_ms
 * passed. A leader calls it before writing a large entry to its own log, so
 * the followers receive theirs (and write it) meanwhile, instead of after. */
#define TRANSPORT_DRAIN_PEERS_MAX 16
void transport_drain(struct transport *t, uint32_t timeout_ms);

/* Fills *info for peer id; returns 0 or TRANSPORT_ENOPEER. */
int transport_peer_info(const struct transport *t, uint64_t id, struct transport_peer_info *info);
/* The pending_bytes of every peer, summed. */
uint64_t transport_pending_bytes(const struct transport *t);
/* -LOSTSTATE refusals of our RAFT.AUTH by any peer since the transport was
 * created, members or not, peers removed since included: never decreases,
 * so a refusal is seen even if the peer accepted us again (we said
 * "recovering") before the caller looked. */
uint64_t transport_lost_state_refusals(const struct transport *t);

/* Static text for a transport_err code. */
const char *transport_strerror(int err);

/* ---- Follower proxy links (raft-follower-proxy, src/server/proxy.h) ----
 *
 * Separate outgoing connections ("proxy links") on which a follower
 * forwards client commands to the leader as an ordinary client would: two
 * shared links, one per client protocol (the RESP3 one after HELLO 3, so
 * the leader writes each reply in the shape its client asked for), and the
 * sessions below. A link starts with `RAFT.AUTH <raft-secret>
 * <from-node-id>` when a secret is set (so the leader counts it as a peer
 * link, not as one of its clients), then `AUTH <password>` when a password
 * is set (requirepass; the leader's must be the same); an error reply to
 * any of them, or to its HELLO, closes it. It never shares a socket with
 * the Raft peer links, so a large proxied reply never delays a Raft
 * message.
 *
 * A link goes to the address of the peer link of the leader named in
 * transport_forward(). It is opened on demand (no back-off: a new attempt is
 * made by the next forward after a failure) and closed when a forward names
 * another leader or a new leader is known (transport_forward_retarget()),
 * when that peer's address changes or it is removed, on a connect timeout
 * (connect_timeout_ms), when a command that is not blocking is pending and
 * nothing was answered for the forward timeout, when the handshake is
 * refused, when the leader's bytes are not RESP (resp/frame.h), and when the
 * leader hangs up.
 *
 * ORDER. On one link, callbacks run in exactly the order transport_forward()
 * accepted the commands, across link failures too: when a link is lost every
 * command still pending on it fails (callback with resp NULL), and those
 * failures are delivered before any reply of a later link. A failed command
 * may or may not have run on the leader. A caller that keeps one client's
 * commands in order forwards them all on one link while any is pending.
 *
 * CALLBACKS run only from the event loop (a reply, a timer), never from
 * inside a transport_*() call, so the caller may forward again, or cancel,
 * from inside one. resp[0..len) is the complete reply, the leader's bytes as
 * they came (src/transport/transport_link.c); it is borrowed for the
 * duration of the call. A push frame on a link (none is asked for) is
 * dropped.
 *
 * LIMITS. The queue of a link (pending plus failed-not-yet-delivered) holds
 * at most pending_cmds_max commands and pending_bytes_max bytes (arguments
 * plus TRANSPORT_CMD_OVERHEAD_BYTES each), with the same one-message
 * exception as a peer queue; beyond, TRANSPORT_EFULL at once.
 */

/* Called once per forwarded command: resp the reply, or NULL (len 0) when the
 * link failed before the reply arrived. */
typedef void transport_reply_fn(void *ud, const char *resp, size_t len);

/* Password sent with AUTH on the next proxy link (password_len bytes, which
 * may include NUL bytes; 0: none, password may then be NULL) and the forward
 * timeout in ms (> 0). Cheap when nothing changes; a changed password does
 * not close a link already authenticated. */
void transport_set_forward(struct transport *t, const char *password, size_t password_len,
                           uint32_t timeout_ms);

/* One command to forward: argv[0..argc), binary-safe. */
struct transport_cmd {
    int argc;
    const struct resp_arg *argv;
};

/* How a forward goes: the link (a session, or NULL: the shared link of
 * proto), the database (db) and protocol (proto, 2 or 3) its commands run
 * in on the leader, and whether the leader may hold its reply back for as
 * long as it likes (blocking: BLPOP, XREAD BLOCK; no forward timeout runs
 * while it is the oldest pending). */
struct transport_fwd_ctx {
    struct transport_session *session;
    int db;
    int proto;
    int blocking;
};

/* Sends cmds[0..ncmds) (ncmds >= 1, each argc >= 1, copied before
 * returning), back to back, to leader_id on ctx's link; cb(ud, ...) is
 * called exactly once later, unless cancelled, with the reply to the last
 * of them: the others' are dropped (a unit: MULTI, the queued commands,
 * EXEC). The link switches its database with RAFTCACHE.SELECT, which the
 * leader answers with nothing and runs at once, and a session its protocol
 * with HELLO; a new connection starts in 0, speaking RESP2. Returns 0,
 * TRANSPORT_ENOPEER (leader_id is not a peer: no address known),
 * TRANSPORT_ENOTCONN (no connection could be started), TRANSPORT_EFULL or
 * TRANSPORT_EINVAL (no command, an empty one, no callback, or no such
 * protocol); on an error, cb is never called. */
int transport_forward(struct transport *t, uint64_t leader_id, const struct transport_fwd_ctx *ctx,
                      const struct transport_cmd *cmds, int ncmds, transport_reply_fn *cb,
                      void *ud);

/* ---- Sessions ----
 *
 * A session is one client's own proxy link: what the leader keeps per
 * connection (WATCH's keys, a blocked BLPOP) stays that client's. It
 * follows the same rules as a shared link (handshake, order, failures,
 * limits) and opens on demand too; a connection lost is replaced by a new
 * one at the next forward, with nothing of the old one's state: its number
 * (transport_session_link()) tells them apart. It belongs to its client
 * and is freed with it, before the transport. */
struct transport_session *transport_session_new(struct transport *t);
/* Closes the session's link; no callback of it follows. NULL: nothing. */
void transport_session_free(struct transport_session *s);
/* The number of the session's live connection (each new one, of any link,
 * has a greater one), or 0 when it has none. */
uint64_t transport_session_link(const struct transport_session *s);

/* A new leader is known: every proxy link to another node is closed now
 * (its pending commands fail), rather than when its next command is
 * forwarded; a session's blocked command does not wait on a leader that
 * stopped leading. */
void transport_forward_retarget(struct transport *t, uint64_t leader_id);

/* Every command forwarded on a shared link whose ud is `ud` gets no
 * callback any more (the command itself still goes, or went, to the
 * leader). Call it before ud is freed. */
void transport_forward_cancel_ud(struct transport *t, const void *ud);

/* Commands in the proxy queues (pending or failed and not yet delivered). */
uint32_t transport_forward_pending(const struct transport *t);

/* ---- One-shot requests (RAFT.CLUSTER JOIN) ----
 *
 * A request to a node known only by its address, not a configured peer: a
 * NEW dedicated connection to host:port (non-blocking connect on the loop,
 * TLS when the transport dials TLS: transport_set_tls()) carrying `RAFT.AUTH <raft-secret>
 * <self-id>` first when the transport has a raft-secret (non-empty; pipelined, as on the peer
 * links), then the request; the single reply is delivered and the
 * connection closed. Requests never share a socket, a queue or a counter
 * with the peer links or the proxy link, and do not change their state.
 * host is resolved as for peers (a name costs a synchronous getaddrinfo()).
 *
 * CALLBACK. cb(ud, resp, len) runs exactly once per accepted request, from
 * the event loop only (never from inside a transport_*() call, so it may
 * call again -- e.g. follow a -MOVED -- or cancel), unless cancelled. resp is
 * the complete reply to the request as the other node wrote it (RESP2: the
 * connection never says HELLO; an error reply such as "-MOVED ..."
 * included), borrowed for the duration of the call. An error reply to
 * RAFT.AUTH is delivered as "-RAFT.AUTH refused: <that error>" (the request
 * did not run). resp is NULL (len 0) when the connect failed, the
 * connection was lost, or timeout_ms (counted from
 * transport_call(), connect included) passed with no reply; the reason is
 * logged at notice ("Request to host:port failed: ..."). A NULL request may
 * or may not have run on the other node. By the time cb runs, the
 * connection is closed and the request freed. Requests have no order among
 * themselves. A request must have exactly one reply: not for SUBSCRIBE,
 * MONITOR and the like.
 *
 * LIMITS. At most TRANSPORT_CALLS_MAX requests are in flight (accepted and
 * not yet called back or cancelled); beyond, TRANSPORT_EFULL at once. */
#define TRANSPORT_CALLS_MAX 16
#define TRANSPORT_CALL_ARGS_MAX 16 /* arguments of one request, its name included */

/* Sends argv[0..argc) (binary-safe, copied before returning) to host:port on
 * a connection of its own; cb(ud, ...) is called exactly once later, unless
 * cancelled. Returns 0 (even if the connect fails at once: that failure
 * too reaches cb, from the loop), TRANSPORT_EFULL, or TRANSPORT_EINVAL (argc
 * < 1 or above TRANSPORT_CALL_ARGS_MAX, argv, lens or cb NULL, timeout_ms 0, host empty or longer
 * than TRANSPORT_HOST_MAX - 1 bytes, port outside 1..65535); on an error, cb is never called. */
int transport_call(struct transport *t, const char *host, int port, int argc, const char **argv,
                   const size_t *lens, uint32_t timeout_ms, transport_reply_fn *cb, void *ud);

/* ---- Pipelined requests to any RESP server (MIGRATE) ----
 *
 * As transport_call(), but for a server that need not be a node (a
 * redis-server): ncmds commands pipelined on a NEW plain TCP connection
 * (no RAFT.AUTH, no TLS), and their replies delivered together.
 * cb(ud, n, replies, why) runs exactly once, from the loop only, unless
 * cancelled (transport_call_cancel_ud() covers these too): replies[0..n)
 * are the complete replies of the first n commands, as the server wrote
 * them (an error reply included), borrowed for the duration of the call;
 * n == ncmds and why NULL when every reply came, else why says what
 * stopped it (TRANSPORT_PIPE_CONNECT: no connection was made;
 * TRANSPORT_PIPE_LOST: lost or timed out after connecting) and the
 * commands after the n-th may or may not have run. Same limits as
 * transport_call() (TRANSPORT_CALLS_MAX in flight in all, arguments per
 * command) and at most TRANSPORT_PIPE_CMDS_MAX commands; argument bytes
 * are copied before returning. timeout_ms bounds the wait for each reply
 * (connect included in the first), as Redis's MIGRATE bounds each read.
 *
 * KEPT CONNECTIONS. A pipeline that got every reply leaves its connection
 * open for the next pipeline to the same host:port (as Redis's MIGRATE
 * socket cache): at most TRANSPORT_PIPE_IDLE_MAX kept, each closed after
 * TRANSPORT_PIPE_IDLE_S seconds unused, or when the other side closes it
 * or writes to it unasked. transport_pipe_idle() counts them (INFO's
 * migrate_cached_sockets). */
#define TRANSPORT_PIPE_CMDS_MAX 4096
#define TRANSPORT_PIPE_IDLE_MAX 64
#define TRANSPORT_PIPE_IDLE_S 10
#define TRANSPORT_PIPE_CONNECT "connect"
#define TRANSPORT_PIPE_LOST "lost"
typedef void transport_replies_fn(void *ud, size_t n, const struct resp_arg *replies,
                                  const char *why);
int transport_call_pipeline(struct transport *t, const char *host, int port,
                            const struct transport_cmd *cmds, int ncmds, uint32_t timeout_ms,
                            transport_replies_fn *cb, void *ud);
size_t transport_pipe_idle(const struct transport *t);

/* Every request whose ud is `ud` gets no callback; its connection is closed
 * at once (the request may or may not have run). Call it before ud is freed.
 * transport_free() likewise drops every request without a callback. */
void transport_call_cancel_ud(struct transport *t, const void *ud);

/* ---- A byte stream from any RESP server (REPLICAOF's master link) ----
 *
 * A NEW plain TCP connection to host:port (no RAFT.AUTH, no TLS) that stays
 * open: what the owner sends goes out as RESP commands, and what arrives
 * is handed over as bytes, not cut into replies (a replication stream
 * mixes replies, an RDB file and commands). Callbacks run from the loop:
 * connected(ud) once the connect completed; bytes(ud, p, len) with every
 * byte read and not consumed yet, returning how many it consumed (the
 * rest comes again, with more); lost(ud, why) when the connection failed
 * or ended, the last call: the stream is freed when it returns (the owner
 * forgets it there and does not close it). transport_stream_pause()
 * stops reading (the other side's sending stops once the socket buffers
 * fill) and starts it again; a callback may pause, send or close its
 * stream. NULL when no connection can start (host unresolvable, no
 * socket). host is resolved as for peers. */
struct transport_stream;
struct transport_stream_ops {
    void (*connected)(void *ud);
    size_t (*bytes)(void *ud, const char *p, size_t len);
    void (*lost)(void *ud, const char *why);
};
struct transport_stream *transport_stream_open(struct transport *t, const char *host, int port,
                                               const struct transport_stream_ops *ops, void *ud);
void transport_stream_send(struct transport_stream *s, int argc, const struct resp_arg *argv);
void transport_stream_pause(struct transport_stream *s, int paused);
/* Closes the connection and frees s (NULL: nothing); no callback follows. */
void transport_stream_close(struct transport_stream *s);

struct cmd_ctx;

/* ------------------------------------------------------- the inbound side
 * (src/transport/transport_in.c): the checks of WIRE PROTOCOL above, for
 * the commands a peer sends (src/servercmd/cmd_raft.c, cmd_pubsub.c). */

struct resp_arg;

/* What an accepted RAFT.AUTH presented. */
struct transport_auth {
    uint64_t id;
    int has_addr; /* host and port are set */
    char host[TRANSPORT_HOST_MAX];
    int port;
    uint64_t inc; /* the sender's incarnation; 0 when it sent none */
    int recovering;
};

/* RAFT.AUTH argv[0..argc) (3 to 6 arguments, the name first) at node
 * self_id whose raft-secret is secret (secret_len 0: none configured):
 * NULL when the connection may become a peer link from a->id (a filled
 * in), else the error to reply. The secret is compared in constant time. */
const char *transport_in_auth(const char *secret, size_t secret_len, uint64_t self_id, int argc,
                              const struct resp_arg *argv, struct transport_auth *a);
/* The +OK an accepted RAFT.AUTH answers: with the node's own incarnation
 * (and " recovering") when the sender presented one. */
void transport_in_auth_ok(const struct transport_auth *a, uint64_t own_inc, int own_recovering,
                          char *buf, size_t len);
/* The sender check of RAFT.MSG and RAFT.PUBLISH (name), run on a
 * client's own connection (c->client): 1 when c->argv[1] names the node
 * the connection authenticated as by RAFT.AUTH, else 0 after replying the
 * NOPERM error. */
int transport_in_sender(struct cmd_ctx *c, const char *name);
/* The largest RAFT.MSG payload a peer link admits: an entry holding a value
 * of up to proto-max-bulk-len plus its framing (raft/raft.h). */
#define TRANSPORT_IN_MSG_MAX RAFT_CODEC_MAX_MSG

#endif
