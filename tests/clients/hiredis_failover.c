/*
 * tests/clients/hiredis_failover.c - hiredis (Debian's libhiredis) through a
 * leader kill -9, driven by tests/integration/test_clients.py; the protocol
 * is described at the top of tests/clients/redispy_failover.py.
 *
 * Usage: hiredis_failover proxy|leader SEEDS PREFIX N
 *
 * hiredis has no cluster client, so the mode is "proxy": one connection to
 * the first seed, a follower with raft-follower-proxy on. Each command is
 * retried as an application would: on a lost connection (reconnect), and on
 * the replies a cluster gives while it elects a leader, for at most
 * CLIENT_RETRY_S seconds (environment; default 30). Phase 2 ends with a pipeline (SET and GET sent
 * at once).
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KEY_MAX 256

static char host[256];
static int port;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int retryable(const redisReply *r)
{
    static const char *const prefixes[] = {"CLUSTERDOWN", "TIMEOUT", "TRYAGAIN", "LOADING"};
    if (r->type != REDIS_REPLY_ERROR) return 0;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(r->str, prefixes[i], strlen(prefixes[i])) == 0) return 1;
    return 0;
}

static redisContext *reconnect(redisContext *c)
{
    if (c) redisFree(c);
    struct timeval tv = {2, 0};
    c = redisConnectWithTimeout(host, port, tv);
    if (c && !c->err) redisSetTimeout(c, tv);
    return c;
}

/* Sends the n commands of argvs at once (a pipeline) and reads their replies
 * into out; retries the whole batch (every command is idempotent) until each
 * reply is not a retryable error. Exits on a deadline or another error. */
static void run_batch(redisContext **c, const char *what, int n, const char **argvs[],
                      const int argcs[], redisReply *out[])
{
    const char *env = getenv("CLIENT_RETRY_S");
    double retry_s = env ? atof(env) : 30;
    double deadline = now_s() + retry_s;
    for (;;) {
        const char *why = NULL;
        int got = 0;
        if (!*c || (*c)->err) {
            *c = reconnect(*c);
            if (!*c || (*c)->err) why = *c ? (*c)->errstr : "out of memory";
        }
        for (int i = 0; !why && i < n; i++)
            if (redisAppendCommandArgv(*c, argcs[i], argvs[i], NULL) != REDIS_OK)
                why = (*c)->errstr;
        while (!why && got < n) {
            if (redisGetReply(*c, (void **)&out[got]) != REDIS_OK)
                why = (*c)->errstr;
            else
                got++;
        }
        for (int i = 0; !why && i < n; i++)
            if (retryable(out[i])) why = out[i]->str;
        if (!why) return;
        if (now_s() > deadline) {
            fprintf(stderr, "%s: still failing after %g s: %s\n", what, retry_s, why);
            exit(1);
        }
        fprintf(stderr, "%s: %s\n", what, why);
        for (int i = 0; i < got; i++)
            freeReplyObject(out[i]);
        if (*c && (*c)->err) {
            redisFree(*c);
            *c = NULL;
        }
        usleep(100000);
    }
}

static void expect(redisReply *r, int type, const char *str, const char *what)
{
    if (r->type != type || strcmp(r->str, str) != 0) {
        fprintf(stderr, "%s: unexpected reply (type %d) %s\n", what, r->type, r->str ? r->str : "");
        exit(1);
    }
    freeReplyObject(r);
}

static void phase(redisContext **c, const char *prefix, int lo, int hi)
{
    char key[KEY_MAX], val[32], what[KEY_MAX + 8];
    redisReply *r[2];
    for (int i = lo; i < hi; i++) {
        snprintf(key, sizeof key, "%s:%d", prefix, i);
        snprintf(val, sizeof val, "v%d", i);
        snprintf(what, sizeof what, "SET %s", key);
        const char *set[] = {"SET", key, val};
        run_batch(c, what, 1, (const char **[]){set}, (int[]){3}, r);
        expect(r[0], REDIS_REPLY_STATUS, "OK", what);
        printf("ack %s %s\n", key, val);
        fflush(stdout);
    }
    for (int i = lo; i < hi; i++) {
        snprintf(key, sizeof key, "%s:%d", prefix, i);
        snprintf(val, sizeof val, "v%d", i);
        snprintf(what, sizeof what, "GET %s", key);
        const char *get[] = {"GET", key};
        run_batch(c, what, 1, (const char **[]){get}, (int[]){2}, r);
        expect(r[0], REDIS_REPLY_STRING, val, what);
    }
    /* A follower forwards no transaction: a pipeline instead. */
    snprintf(key, sizeof key, "{%s:%d}:b", prefix, lo);
    const char *set[] = {"SET", key, "b"}, *get[] = {"GET", key};
    run_batch(c, "pipeline", 2, (const char **[]){set, get}, (int[]){3, 2}, r);
    expect(r[0], REDIS_REPLY_STATUS, "OK", "pipeline SET");
    expect(r[1], REDIS_REPLY_STRING, "b", "pipeline GET");
    printf("ack %s b\n", key);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc != 5 || (strcmp(argv[1], "proxy") != 0 && strcmp(argv[1], "leader") != 0)) {
        fprintf(stderr, "usage: hiredis_failover proxy|leader HOST:PORT[,...] PREFIX N\n");
        return 2;
    }
    /* The first seed: HOST:PORT up to the first comma. */
    size_t len = strcspn(argv[2], ",");
    const char *colon = memrchr(argv[2], ':', len);
    if (!colon || (size_t)(colon - argv[2]) >= sizeof host) return 2;
    memcpy(host, argv[2], (size_t)(colon - argv[2]));
    port = atoi(colon + 1);
    int n = atoi(argv[4]);
    if (strlen(argv[3]) > KEY_MAX - 32 || n <= 0) return 2;
    redisContext *c = reconnect(NULL);
    phase(&c, argv[3], 0, n);
    printf("phase1\n");
    fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof line, stdin)) return 1;
    phase(&c, argv[3], n, 2 * n);
    printf("done\n");
    redisFree(c);
    return 0;
}
