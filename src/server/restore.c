/*
 * src/server/restore.c - point-in-time restore, offline (see restore.h).
 *
 * Two passes over the retained log, a bounded range at a time
 * (storage_read): the first finds the latest configuration (who decides
 * what is committed) and the first timed entry after the snapshot (the
 * earliest moment the dir can show); the second applies.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/log.h"
#include "base/util.h"
#include "cmd/monitor.h"
#include "config/config.h"
#include "raft/raft.h"
#include "server/persist.h"
#include "server/replica.h"
#include "server/restore.h"
#include "server/server.h"
#include "sm/rdbsave.h"
#include "sm/snapshot.h"
#include "storage/storage.h"
#include "storage/storage_wal.h"

#define READ_BYTES_MAX (16u << 20) /* entry bytes held at once */
#define READ_ENTRIES_MAX 4096
#define ARGS_MAX 1024 /* command-line words */
#define ERR_MAX 1024
#define RESTORE_SEED 0x9e3779b97f4a7c15ULL /* local choices only: entries seed their own */

struct restore_opts {
    const char *dir;
    const char *out;
    bool by_index; /* --until-index, else --until */
    uint64_t until_index;
    int64_t until_ms;
    bool uncommitted;
};

/* What the first pass found, and the window it gives. */
struct scan {
    uint64_t base;         /* the snapshot's index: the keyspace loaded */
    uint64_t node_id;      /* the dir's */
    struct raft_conf conf; /* the latest configuration: the snapshot's, then the log's */
    uint64_t first_index;  /* the first state-machine entry after base; 0: none */
    int64_t first_ts;
    uint64_t committed; /* the last entry known committed */
    uint64_t last;      /* the last stored */
};

/* What the second pass did. */
struct applied {
    uint64_t index;    /* the last entry applied (or base) */
    uint64_t ts_index; /* the last timed entry applied; 0: none */
    int64_t ts;
    bool reached; /* stopped at the target, not at the end of what is committed */
};

/* ----------------------------------------------------------- the log */

/* fn(ud, e): 0 on, 1 stop, -1 error (err filled). */
typedef int entry_fn(void *ud, const struct raft_entry *e, char *err, size_t errlen);

/* Entries from .. last of st, in order, to fn. */
static int walk_log(struct storage *st, uint64_t from, uint64_t last, entry_fn *fn, void *ud,
                    char *err, size_t errlen)
{
    struct storage_range r = {0};
    int rc = 0;
    while (rc == 0 && from <= last) {
        rc = storage_read(st, from, last, READ_BYTES_MAX, READ_ENTRIES_MAX, &r, err, errlen);
        if (rc == 0 && r.n == 0)
            rc = util_fail(err, errlen, -1, "the log has no entry %llu", (unsigned long long)from);
        for (uint32_t i = 0; rc == 0 && i < r.n; i++)
            rc = fn(ud, &r.entries[i], err, errlen);
        if (rc == 0) from = r.entries[r.n - 1].index + 1;
    }
    storage_range_free(&r);
    return rc < 0 ? -1 : 0;
}

static int entry_ts(const struct raft_entry *e, int64_t *ts, char *err, size_t errlen)
{
    if (sm_entry_ts((const char *)e->data, e->len, ts) == 0) return 0;
    return util_fail(err, errlen, -1, "corrupt log: entry %llu is no state machine entry",
                     (unsigned long long)e->index);
}

static int scan_entry(void *ud, const struct raft_entry *e, char *err, size_t errlen)
{
    struct scan *s = ud;
    if (e->type == RAFT_ENTRY_CONF && raft_conf_decode(e->data, e->len, &s->conf) != 0)
        return util_fail(err, errlen, -1, "corrupt log: configuration entry %llu",
                         (unsigned long long)e->index);
    if (e->type != RAFT_ENTRY_NORMAL || s->first_index || e->index <= s->base) return 0;
    s->first_index = e->index;
    return entry_ts(e, &s->first_ts, err, errlen);
}

/* A lone voter's log is committed as far as it goes: it alone decides. */
static bool lone_voter(const struct raft_conf *c, uint64_t id)
{
    uint32_t voters = 0;
    for (uint32_t i = 0; i < c->n; i++)
        voters += c->s[i].voter;
    int at = raft_conf_find(c, (raft_id)id);
    return voters == 1 && at >= 0 && c->s[at].voter;
}

/* ----------------------------------------------------------- time */

/* ISO 8601 in UTC with milliseconds. */
static const char *iso(int64_t ms, char *buf, size_t cap)
{
    time_t sec = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    if (!gmtime_r(&sec, &tm)) {
        snprintf(buf, cap, "?");
        return buf;
    }
    size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, cap - n, ".%03dZ", (int)(ms - (int64_t)sec * 1000));
    return buf;
}

/* ------------------------------------------------------- the window */

/* The earliest --until the dir can show (INT64_MIN: any); the snapshot
 * file's mtime counts when it is earlier than the first retained entry. */
static int64_t earliest_ms(const struct scan *s, const char *snap_path)
{
    if (s->base == 0) return INT64_MIN;
    int64_t e = s->first_index && s->first_index <= s->committed ? s->first_ts : INT64_MAX;
    struct stat sb;
    if (stat(snap_path, &sb) == 0) {
        int64_t m = (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000;
        if (m < e) e = m;
    }
    return e;
}

static int before_window(const struct restore_opts *o, const struct scan *s, int64_t earliest,
                         char *err, size_t errlen)
{
    char t[40], w[40];
    const char *why = "raft-snapshot-threshold (conf/raftcache.conf) decides how much log a node "
                      "keeps after its snapshot";
    if (o->by_index)
        return util_fail(err, errlen, -1,
                         "index %llu is before what %s retains: its snapshot holds index %llu "
                         "and the log only what follows; the earliest restorable index is %llu; "
                         "%s",
                         (unsigned long long)o->until_index, o->dir, (unsigned long long)s->base,
                         (unsigned long long)s->base, why);
    return util_fail(err, errlen, -1,
                     "--until %s (%lld) is before what %s retains: its snapshot holds index %llu, "
                     "whose time is not recorded, and the log only what follows; the earliest "
                     "restorable point is index %llu, time %s (%lld); %s",
                     iso(o->until_ms, t, sizeof t), (long long)o->until_ms, o->dir,
                     (unsigned long long)s->base, (unsigned long long)s->base,
                     iso(earliest, w, sizeof w), (long long)earliest, why);
}

static int check_window(const struct restore_opts *o, const struct scan *s, const char *snap_path,
                        char *err, size_t errlen)
{
    if (o->by_index) {
        if (o->until_index < s->base) return before_window(o, s, 0, err, errlen);
        return 0;
    }
    int64_t earliest = earliest_ms(s, snap_path);
    if (o->until_ms < earliest) return before_window(o, s, earliest, err, errlen);
    return 0;
}

/* ------------------------------------------------------------ apply */

struct apply {
    struct server *srv;
    const struct restore_opts *o;
    const struct scan *s;
    struct applied a;
};

/* 1 when e is past the target. */
static int past_target(const struct apply *ap, const struct raft_entry *e, int64_t ts)
{
    if (ap->o->by_index) return e->index > ap->o->until_index;
    return e->type == RAFT_ENTRY_NORMAL && ts > ap->o->until_ms;
}

static int apply_entry(void *ud, const struct raft_entry *e, char *err, size_t errlen)
{
    struct apply *ap = ud;
    int64_t ts = 0;
    if (e->type == RAFT_ENTRY_NORMAL && entry_ts(e, &ts, err, errlen) != 0) return -1;
    if (past_target(ap, e, ts)) {
        ap->a.reached = true;
        /* Already in the snapshot file (newer than the log's base: snapshot.h,
         * crash point 2): the target is before what the dir can show. */
        if (e->index <= ap->srv->sm.applied)
            return util_fail(err, errlen, -1,
                             "the target is before what %s retains: its snapshot file holds "
                             "index %llu, and entry %llu is past the target",
                             ap->o->dir, (unsigned long long)ap->srv->sm.applied,
                             (unsigned long long)e->index);
        return 1;
    }
    if (e->type == RAFT_ENTRY_NORMAL) {
        ap->a.ts_index = e->index;
        ap->a.ts = ts;
    }
    if (e->index <= ap->srv->sm.applied) return 0;
    char why[256];
    if (e->type == RAFT_ENTRY_NORMAL &&
        sm_apply(&ap->srv->sm, e->index, NULL, NULL, 0, (const char *)e->data, e->len, why,
                 sizeof why) != 0)
        return util_fail(err, errlen, -1, "entry %llu does not apply: %s",
                         (unsigned long long)e->index, why);
    sm_set_applied(&ap->srv->sm, e->index);
    ap->a.index = e->index;
    return 0;
}

/* ---------------------------------------------------------- the run */

/* The keyspace of DIR's snapshot, as of its index (none: empty, index 0). */
static int load_snapshot(struct server *srv, const char *path, uint64_t base, char *err,
                         size_t errlen)
{
    struct snapshot_header h;
    char why[512];
    int rc = sm_snapshot_load(&srv->sm, path, &h, why, sizeof why);
    if (rc == SNAPSHOT_ENOENT && base == 0) return 0;
    if (rc == SNAPSHOT_ENOENT)
        return util_fail(err, errlen, -1,
                         "corrupt data dir: the log follows a snapshot at index "
                         "%llu, but %s is missing",
                         (unsigned long long)base, path);
    if (rc != 0) return util_fail(err, errlen, -1, "%s", why);
    if (h.index < base)
        return util_fail(err, errlen, -1,
                         "corrupt data dir: %s holds index %llu, the log follows index %llu", path,
                         (unsigned long long)h.index, (unsigned long long)base);
    return 0;
}

/* A damaged WAL loses its last transactions: said, not fatal (the node
 * itself starts on what SQLite keeps). */
static void warn_wal(const char *dir)
{
    char db[PATH_MAX + 32], err[512];
    struct storage_wal_report r;
    snprintf(db, sizeof db, "%s/%s", dir, STORAGE_FILE_NAME);
    if (storage_wal_check(db, &r, err, sizeof err) == 0 && storage_wal_damaged(&r))
        fprintf(stderr,
                "warning: %s-wal is damaged: the transactions written after frame %llu are "
                "not restored (docs/storage-safety.md)\n",
                db, (unsigned long long)r.first_bad);
}

/* The log's head and the first pass: *s filled, the keyspace loaded. */
static int prepare(struct server *srv, struct storage *st, const struct restore_opts *o,
                   struct scan *s, const char *snap_path, char *err, size_t errlen)
{
    struct storage_state head;
    if (storage_load_head(st, &head, err, errlen) != 0) return -1;
    struct storage_stats ss;
    storage_stats(st, &ss);
    *s = (struct scan){.base = head.snap.index,
                       .node_id = storage_node_id(st),
                       .conf = head.snap.conf,
                       .last = ss.last_index};
    uint64_t commit = head.hs.commit;
    storage_state_free(&head);
    if (load_snapshot(srv, snap_path, s->base, err, errlen) != 0) return -1;
    if (walk_log(st, s->base + 1, s->last, scan_entry, s, err, errlen) != 0) return -1;
    s->committed = commit > s->base ? commit : s->base;
    if (s->committed > s->last) s->committed = s->last;
    if (o->uncommitted || lone_voter(&s->conf, s->node_id)) s->committed = s->last;
    return check_window(o, s, snap_path, err, errlen);
}

/* out split into its directory and name; refused inside DIR. */
static int out_place(const struct restore_opts *o, char *dir, size_t dircap, const char **name,
                     char *err, size_t errlen)
{
    const char *slash = strrchr(o->out, '/');
    *name = slash ? slash + 1 : o->out;
    if (!**name) return util_fail(err, errlen, -1, "--out %s: not a file name", o->out);
    int n = slash ? snprintf(dir, dircap, "%.*s", (int)(slash - o->out), o->out)
                  : snprintf(dir, dircap, ".");
    if (n < 0 || (size_t)n >= dircap) return util_fail(err, errlen, -1, "--out: path too long");
    if (!dir[0]) snprintf(dir, dircap, "/");
    char a[PATH_MAX], b[PATH_MAX];
    if (!realpath(dir, a))
        return util_fail(err, errlen, -1, "--out %s: %s: %s", o->out, dir, strerror(errno));
    if (realpath(o->dir, b) && !strcmp(a, b))
        return util_fail(err, errlen, -1, "--out %s is in %s, which a restore never writes to",
                         o->out, o->dir);
    return 0;
}

static int write_rdb(struct server *srv, const char *dir, const char *name, char *err,
                     size_t errlen)
{
    struct rdbsave_source src = {
        .db = srv->dbs.db,
        .ndbs = srv->dbs.n,
        .fns = srv->functions,
        .aux = {.redis_ver = REDIS_COMPAT_VERSION, .ctime_s = time(NULL), .used_mem = 0},
        .compress = 1,
    };
    return rdbsave_file(&src, dir, name, err, errlen);
}

static void summary(const struct restore_opts *o, const struct scan *s, const struct applied *a,
                    uint64_t keys)
{
    char t[40];
    printf("Restored from snapshot index %llu to index %llu", (unsigned long long)s->base,
           (unsigned long long)a->index);
    if (a->ts_index)
        printf(" (entry time %s, %lld ms)", iso(a->ts, t, sizeof t), (long long)a->ts);
    else
        printf(" (entry time: the snapshot's, not recorded)");
    printf(": %llu keys written to %s", (unsigned long long)keys, o->out);
    if (!a->reached)
        printf("; the target is past the last committed entry (index %llu): restored up to it",
               (unsigned long long)s->committed);
    if (s->committed < s->last)
        printf("; entries %llu to %llu are in the log but not known to be committed: not "
               "applied (--uncommitted applies them)",
               (unsigned long long)s->committed + 1, (unsigned long long)s->last);
    printf("\n");
}

static int run(struct server *srv, const struct restore_opts *o, char *err, size_t errlen)
{
    char snap_path[PATH_MAX + 32];
    snprintf(snap_path, sizeof snap_path, "%s/%s", o->dir, SNAPSHOT_FILE_NAME);
    char out_dir[PATH_MAX];
    const char *out_name;
    if (out_place(o, out_dir, sizeof out_dir, &out_name, err, errlen) != 0) return -1;
    struct storage *st = NULL;
    if (storage_open_readonly(&st, o->dir, err, errlen) != 0) return -1;
    int rc;
    struct scan s;
    rc = prepare(srv, st, o, &s, snap_path, err, errlen);
    struct apply ap = {.srv = srv, .o = o, .s = &s, .a = {.index = s.base}};
    if (rc == 0) rc = walk_log(st, s.base + 1, s.committed, apply_entry, &ap, err, errlen);
    storage_close(st);
    if (rc == 0 && ap.a.index < srv->sm.applied) ap.a.index = srv->sm.applied;
    if (rc == 0) rc = write_rdb(srv, out_dir, out_name, err, errlen);
    if (rc == 0) summary(o, &s, &ap.a, sm_keys(&srv->sm));
    return rc;
}

/* ------------------------------------------------------ command line */

static int parse_num(const char *flag, const char *v, long long *out, char *err, size_t errlen)
{
    if (!v || util_str2ll(v, strlen(v), out) != 1 || *out < 0)
        return util_fail(err, errlen, -1, "%s needs a number >= 0 (got '%s')", flag, v ? v : "");
    return 0;
}

/* One of the tool's flags at argv[*i] (1: not one of them). */
static int parse_flag(struct restore_opts *o, int argc, char **argv, int *i, bool *has_target,
                      char *err, size_t errlen)
{
    const char *f = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    long long n;
    if (!strcmp(f, "--uncommitted")) {
        o->uncommitted = true;
        return 0;
    }
    bool until = !strcmp(f, "--until"), until_index = !strcmp(f, "--until-index");
    if (!until && !until_index && strcmp(f, "--restore-rdb") && strcmp(f, "--out")) return 1;
    if (!v || !*v || !strncmp(v, "--", 2)) return util_fail(err, errlen, -1, "%s needs a value", f);
    (*i)++;
    if (!strcmp(f, "--restore-rdb")) o->dir = v;
    if (!strcmp(f, "--out")) o->out = v;
    if (!until && !until_index) return 0;
    if (*has_target)
        return util_fail(err, errlen, -1, "give one target: --until MS or --until-index N");
    *has_target = true;
    if (parse_num(f, v, &n, err, errlen) != 0) return -1;
    o->by_index = until_index;
    o->until_index = (uint64_t)n;
    o->until_ms = n;
    return 0;
}

/* The tool's flags into *o; the rest (a config file, directives) into rest. */
static int parse_args(struct restore_opts *o, int argc, char **argv, char **rest, int *nrest,
                      char *err, size_t errlen)
{
    bool has_target = false;
    *o = (struct restore_opts){.out = "dump.rdb"};
    if (argc > ARGS_MAX) return util_fail(err, errlen, -1, "more than %d arguments", ARGS_MAX);
    *nrest = 0;
    rest[(*nrest)++] = argv[0];
    for (int i = 1; i < argc; i++) {
        int rc = parse_flag(o, argc, argv, &i, &has_target, err, errlen);
        if (rc < 0) return -1;
        if (rc > 0) rest[(*nrest)++] = argv[i];
    }
    if (!has_target)
        return util_fail(err, errlen, -1, "give a target: --until <unix-ms> or --until-index N");
    return 0;
}

bool restore_requested(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--restore-rdb")) return true;
    return false;
}

int restore_main(int argc, char **argv)
{
    static struct server srv; /* as main()'s: off the stack */
    static char err[ERR_MAX];
    static char *rest[ARGS_MAX + 1];
    struct restore_opts o;
    int nrest = 0;
    config_init_defaults(&srv.cfg);
    if (parse_args(&o, argc, argv, rest, &nrest, err, sizeof err) != 0 ||
        config_load_args(&srv.cfg, nrest, rest, err, sizeof err) != CONFIG_OK) {
        fprintf(stderr, "raftcache --restore-rdb: %s\n", err);
        return 1;
    }
    log_set_level(LOG_LEVEL_WARNING);
    monitor_init(&srv.monitor, cmd_id_count());
    replica_init(&srv, RESTORE_SEED);
    warn_wal(o.dir);
    int rc = replica_start_offline(&srv, err, sizeof err);
    if (rc == 0) rc = run(&srv, &o, err, sizeof err);
    if (rc != 0) fprintf(stderr, "raftcache --restore-rdb: %s\n", err);
    replica_free(&srv);
    monitor_free(&srv.monitor);
    config_free(&srv.cfg);
    return rc == 0 ? 0 : 1;
}
