/*
 * tests/clients/hiredis_client.c - a real hiredis client for the integration
 * suite: pipelines N SET/GET pairs with binary values and MULTI/EXEC, checks
 * every reply, prints "ok N" and exits 0, or prints the mismatch and exits 1.
 *
 * Usage: hiredis_client HOST PORT N
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, redisReply *r)
{
    fprintf(stderr, "hiredis_client: %s (reply type %d: %s)\n", what, r ? r->type : -1,
            r && r->str ? r->str : "");
    return 1;
}

/* A value whose bytes depend on i and cover 0..255, NUL and CRLF included. */
static size_t make_value(char *buf, int i)
{
    size_t n = (size_t)(i % 300) + 1;
    for (size_t k = 0; k < n; k++)
        buf[k] = (char)((k * 7 + (size_t)i) & 0xff);
    return n;
}

static int pipeline(redisContext *c, int n)
{
    char val[512], key[32];
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "hiredis:%d", i);
        size_t len = make_value(val, i);
        redisAppendCommand(c, "SET %s %b", key, val, len);
        redisAppendCommand(c, "GET %s", key);
    }
    for (int i = 0; i < n; i++) {
        redisReply *r;
        if (redisGetReply(c, (void **)&r) != REDIS_OK) return fail("connection lost", NULL);
        int ok = r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0;
        freeReplyObject(r);
        if (!ok) return fail("SET reply", NULL);
        if (redisGetReply(c, (void **)&r) != REDIS_OK) return fail("connection lost", NULL);
        size_t len = make_value(val, i);
        ok = r->type == REDIS_REPLY_STRING && r->len == len && memcmp(r->str, val, len) == 0;
        if (!ok) return fail("GET returned other bytes", r);
        freeReplyObject(r);
    }
    return 0;
}

static int transaction(redisContext *c)
{
    const char *cmds[] = {"DEL hiredis:counter", "MULTI", "INCR hiredis:counter",
                          "INCRBY hiredis:counter 41", "EXEC"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        redisAppendCommand(c, cmds[i]);
    redisReply *r = NULL;
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (r) freeReplyObject(r);
        if (redisGetReply(c, (void **)&r) != REDIS_OK) return fail("connection lost", NULL);
    }
    int ok = r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
             r->element[1]->type == REDIS_REPLY_INTEGER && r->element[1]->integer == 42;
    if (!ok) return fail("EXEC reply", r);
    freeReplyObject(r);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: hiredis_client HOST PORT N\n");
        return 2;
    }
    struct timeval tv = {10, 0};
    redisContext *c = redisConnectWithTimeout(argv[1], atoi(argv[2]), tv);
    if (!c || c->err) {
        fprintf(stderr, "hiredis_client: connect: %s\n", c ? c->errstr : "out of memory");
        return 1;
    }
    redisSetTimeout(c, tv);
    int n = atoi(argv[3]);
    int rc = pipeline(c, n) || transaction(c);
    redisFree(c);
    if (!rc) printf("ok %d\n", n);
    return rc;
}
