/*
 * src/server/persist.c - SAVE, BGSAVE and the fields they report (see
 * persist.h).
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/log.h"
#include "cmd/cmd.h"
#include "node/node.h"
#include "keyspace/dbs.h"
#include "server/persist.h"
#include "sm/rdbsave.h"

/* The loop's slice for a BGSAVE's walk, as for a Raft snapshot's. */
#define BGSAVE_STEP_US 1000

static struct rdbsave_source source_of(const struct persist_env *env, const char *repl_id)
{
    return (struct rdbsave_source){
        .db = env->dbs->db,
        .ndbs = env->dbs->n,
        .fns = env->fns,
        .aux = {.redis_ver = REDIS_COMPAT_VERSION,
                .ctime_s = clock_ms() / 1000,
                .used_mem = alloc_used(),
                .repl_id = repl_id},
        .compress = 1,
    };
}

static uint64_t changes(const struct persist_env *env)
{
    return env->dbs->common.changes;
}

int persist_save(const struct persist_env *env, char *err, size_t errlen)
{
    struct persist *p = env->persist;
    if (p->bg) {
        snprintf(err, errlen, "ERR Background save already in progress");
        return -1;
    }
    struct rdbsave_source src = source_of(env, NULL);
    uint64_t at = changes(env);
    char why[512];
    if (rdbsave_file(&src, env->dir, env->dbfilename, why, sizeof why) != 0) {
        LOG_WARNING("SAVE failed: %s", why);
        snprintf(err, errlen, "ERR");
        return -1;
    }
    p->last_ms = clock_ms();
    p->last_changes = at;
    p->saves++;
    LOG_NOTICE("DB saved on disk (%s/%s)", env->dir, env->dbfilename);
    return 0;
}

static enum persist_bgsave bg_start(const struct persist_env *env, char *err, size_t errlen)
{
    struct persist *p = env->persist;
    struct rdbsave_source src = source_of(env, NULL);
    p->bg = rdbsave_start(&src, env->dir, env->dbfilename, err, errlen);
    if (!p->bg) {
        LOG_WARNING("Can't save in background: %s", err);
        p->last_bg_failed = true;
        return PERSIST_FAILED;
    }
    p->scheduled = false;
    p->bg_start_ms = clock_ms();
    p->bg_changes = changes(env);
    LOG_NOTICE("Background saving started (%s/%s)", env->dir, env->dbfilename);
    return PERSIST_STARTED;
}

enum persist_bgsave persist_bgsave(const struct persist_env *env, bool schedule, bool defer,
                                   char *err, size_t errlen)
{
    struct persist *p = env->persist;
    if (p->bg) return PERSIST_IN_PROGRESS;
    if (defer || rdbsave_busy(env->dbs->db, env->dbs->n)) {
        schedule = schedule || defer;
        if (!schedule) return PERSIST_BUSY;
        p->scheduled = true;
        return PERSIST_SCHEDULED;
    }
    return bg_start(env, err, errlen);
}

static void bg_ended(const struct persist_env *env, int result, const char *err)
{
    struct persist *p = env->persist;
    int64_t now = clock_ms();
    p->last_bg_duration_ms = now - p->bg_start_ms;
    p->last_bg_end_ms = now;
    p->last_bg_failed = result < 0;
    if (result > 0) {
        p->last_ms = now;
        p->last_changes = p->bg_changes;
        p->saves++;
        LOG_NOTICE("Background saving terminated with success (%llu keys)",
                   (unsigned long long)rdbsave_keys(p->bg));
    } else {
        LOG_WARNING("Background saving error: %s", err);
    }
    rdbsave_free(p->bg);
    p->bg = NULL;
}

bool persist_progress(const struct persist_env *env)
{
    struct persist *p = env->persist;
    if (p->scheduled && !p->bg && !rdbsave_busy(env->dbs->db, env->dbs->n)) {
        char err[512];
        (void)bg_start(env, err, sizeof err);
        p->scheduled = false;
    }
    if (!p->bg) return false;
    rdbsave_step(p->bg, BGSAVE_STEP_US);
    char err[512];
    int r = rdbsave_poll(p->bg, err, sizeof err);
    if (r != 0) {
        bg_ended(env, r, err);
        return false;
    }
    return rdbsave_walking(p->bg);
}

void persist_rdb(const struct persist_env *env, struct text *out, const char *repl_id)
{
    struct rdbsave_source src = source_of(env, repl_id);
    (void)rdbsave_all(&src, out, NULL, NULL);
}

void persist_merge_info(const struct persist_env *env, struct node_snapshot_info *si)
{
    const struct persist *p = env->persist;
    uint64_t now = changes(env);
    if (p->saves && now - p->last_changes < si->changes_since)
        si->changes_since = now - p->last_changes;
    if (p->last_ms > si->last_done_ms) si->last_done_ms = p->last_ms;
    if (p->bg) {
        si->in_progress = 1;
        si->current_ms = clock_ms() - p->bg_start_ms;
    }
    if (p->last_bg_end_ms && p->last_bg_end_ms >= si->last_done_ms) {
        si->last_failed = p->last_bg_failed;
        si->last_duration_ms = (uint64_t)p->last_bg_duration_ms;
    }
    si->created += p->saves;
}

void persist_free(const struct persist_env *env)
{
    rdbsave_free(env->persist->bg);
    env->persist->bg = NULL;
}
