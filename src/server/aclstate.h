/*
 * src/server/aclstate.h - the ACL users a node enforces (src/acl/acl.h) and
 * how they become the cluster's, the same on every node at the same log
 * index.
 *
 * AT START a node's users are its configuration's: Redis's default user
 * ("on nopass ~* &* +@all"), its password from requirepass, then the
 * "user" directives or the aclfile's lines (not both), each building its
 * user afresh (a "user default" line overrides requirepass, as in Redis).
 * A wrong rule or file refuses the start, naming the line.
 *
 * THROUGH THE LOG. ACL SETUSER, ACL DELUSER, ACL LOAD, ACL SAVE and
 * CONFIG SET requirepass change (or write) the users everywhere: the node
 * that proposes one (the leader; a follower forwards it, as any write)
 * proposes it wrapped, RAFTCACHE.ACL <pubsub> <first> <payload> <command>:
 *   pubsub   its acl-pubsub-default ("1": allchannels), so that a user
 *            created or reset gets the same channels on every node;
 *   first    its users as an aclfile while the users are still the
 *            configuration's (acl_from_log 0), else "": applied where the
 *            users are not the log's yet, it makes them so. Every node then
 *            holds the leader's users from that entry on, whatever its own
 *            file said (logged once);
 *   payload  ACL LOAD's aclfile, read and checked on the proposing node
 *            (an unreadable or wrong file is refused there, nothing
 *            proposed), so every node loads the same users; else "".
 * Applied (src/servercmd/cmd_acl.c), the command runs as Redis runs it,
 * with these in its cmd_ctx. The users then survive restarts (the log and
 * the snapshots carry them: snapshot kind SNAPSHOT_KIND_ACL holds the
 * aclfile text) and reach a node that joins. A snapshot without them
 * (taken while the users were the configuration's) leaves a node's own.
 *
 * CLIENTS run as a user: "default" when they connect, authenticated when
 * default is on and nopass; AUTH [user] pass and HELLO AUTH change it. A
 * user deleted, or dropped by ACL LOAD or a snapshot, closes its clients
 * (Redis's behaviour); a user changed in place keeps them, its new rules
 * applying from their next command; a subscriber whose channels a change
 * takes away is closed. Peer links (RAFT.AUTH) and the apply path run as
 * no user: nothing restricts them. A follower checks its client's command
 * before forwarding it; the leader trusts its peers.
 *
 * SCRIPTS of a restricted user (EVAL, FCALL and the like) run where they
 * are applied, on every node: the client's node proposes or forwards them
 * behind RAFTCACHE.AS <user>, and their redis.call is checked against that
 * user as the log has it at that entry (a user deleted meanwhile fails the
 * script). TRANSACTIONS: at EXEC the client's node checks each queued
 * command again, as Redis 7.0 does (the rules may have changed since it
 * was queued); one no longer allowed is replaced by RAFTCACHE.DENIED
 * <error>, which is its place in EXEC's reply on every node, and the
 * others run.
 *
 * ACL LOG (src/server/acllog.h) is the node's own.
 */
#ifndef ACLSTATE_H
#define ACLSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "acl/acl.h"
#include "resp/parser.h"

struct server;
struct client;
struct command;
struct resp_out;
struct config;

#define SNAPSHOT_KIND_ACL 3          /* the snapshot record of the users (src/server/replica.c) */
#define ACLSTATE_FILE_MAX (64 << 20) /* bytes of an aclfile read at most */

/* The users at start, from the configuration. 0, or -1 with the reason. */
int aclstate_init(struct server *srv, char *err, size_t errlen);
void aclstate_free(struct server *srv);

/* A new client runs as default (authenticated when default is on and
 * nopass). */
void aclstate_client_start(struct server *srv, struct client *c);
/* Default is nopass (protected mode applies, as Redis's). */
int aclstate_default_nopass(const struct server *srv);
/* AUTH (cmdword: the command as sent, ACL LOG's object): user NULL means
 * default. 0 and c runs as the user, or -1 (logged to ACL LOG as Redis
 * does). */
int aclstate_auth(struct server *srv, struct client *c, const struct resp_arg *cmdword,
                  const struct resp_arg *user, const struct resp_arg *pass);

/* May c run cmd with argv (context: enum acllog_context)? ACL_OK (0); or
 * the denial (enum acl_result) with Redis's -NOPERM text in err, the
 * denial in ACL LOG. */
int aclstate_check(struct server *srv, struct client *c, const struct command *cmd, int argc,
                   const struct resp_arg *argv, int context, char *err, size_t errlen);
/* EXEC's check of a queued command again, as Redis 7.0's: the users may
 * have changed since it was queued. 0, or -1 with Redis's "-NOPERM ACLs
 * rules changed between the moment the transaction was accumulated and
 * the EXEC call..." in err (and the denial in ACL LOG). The node the
 * client is connected to checks, against its users when EXEC arrives. */
int aclstate_exec_check(struct server *srv, struct client *c, const struct command *cmd, int argc,
                        const struct resp_arg *argv, char *err, size_t errlen);

/* A script's command denied (script_set_acl_hook, src/script/script.h):
 * ACL LOG's entry, context lua. ud is the server. */
void aclstate_script_denied(void *ud, struct client *c, int reason, const struct resp_arg *object);

/* A write that changes the users, as the proposing node wraps it
 * (RAFTCACHE.ACL, above): 0 and *w filled (aclstate_wrapped_free() it), or
 * -1 with the error to reply as an ERR, without its code (ACL LOAD's
 * file, a CONFIG SET mixing requirepass with others). */
struct aclstate_wrapped {
    int argc;
    struct resp_arg *argv;
    char *first, *payload; /* owned */
};
int aclstate_wrap(struct server *srv, int argc, const struct resp_arg *argv,
                  struct aclstate_wrapped *w, char *err, size_t errlen);
void aclstate_wrapped_free(struct aclstate_wrapped *w);

/* The words a script of c goes behind (RAFTCACHE.AS and c's user, above;
 * none for a peer link)
 * written to out: 2, or 0 when c's user is unrestricted. */
int aclstate_as(const struct client *c, struct resp_arg out[2]);
/* A script of c (cmd: EVAL, FCALL and the like) behind those words, as the
 * follower proxy forwards it and EXEC queues it: a malloc'd argv of *argc
 * (updated) pointing into argv, or NULL when cmd is no script or c's user
 * is unrestricted. */
struct resp_arg *aclstate_as_script(const struct client *c, const struct command *cmd, int *argc,
                                    const struct resp_arg *argv);

/* Applying RAFTCACHE.ACL's first: the users become the ones in text
 * unless they are the log's already. */
void aclstate_adopt(struct server *srv, const char *text, size_t len);
/* The users become those of from (ACL LOAD, a snapshot): the clients of
 * users absent from it are closed first, with drop_all (ACL LOAD, as
 * Redis's) those of every user but default; from is freed. */
void aclstate_replace(struct server *srv, struct acl *from, int drop_all);
/* Before u is deleted: its clients are closed and let go of it. */
void aclstate_user_gone(struct server *srv, struct acl_user *u);
/* After u changed: its subscribers whose channels it no longer allows
 * are closed. */
void aclstate_user_changed(struct server *srv, struct acl_user *u);
/* requirepass applied on every node: default's password becomes it
 * (resetpass >pw, or nopass when empty), as Redis's CONFIG SET does. */
void aclstate_requirepass(struct server *srv);

/* Snapshots: the users as SNAPSHOT_KIND_ACL's text when they are the
 * log's (else nothing); loading one; back to the configuration's before a
 * snapshot loads. */
char *aclstate_snapshot_text(const struct server *srv, size_t *len);
int aclstate_snapshot_load(struct server *srv, const char *text, size_t len, char *err,
                           size_t errlen);
void aclstate_reset(struct server *srv);

/* The aclfile's path: as given when absolute, else under dir (Redis
 * changes into dir as it reads its configuration); buf may hold it. */
const char *aclstate_file_path(const struct config *cfg, char *buf, size_t cap);
/* The aclfile's text, read whole (at most ACLSTATE_FILE_MAX): malloc'd,
 * or NULL with Redis's error in err. */
char *aclstate_read_file(const struct config *cfg, size_t *len, char *err, size_t errlen);

#endif
