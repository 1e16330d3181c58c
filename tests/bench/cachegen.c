/*
 * tests/bench/cachegen.c - a cache workload against one RESP server (make bench-cache,
 * scripts/bench-cache.sh).
 *
 * CONNS connections each keep DEPTH requests in flight (a pipeline). A request is
 * GET key, the key's rank drawn from a zipfian distribution over KEYS keys (exponent S,
 * tests/bench/zipf.h; rank r is the key "key:<r-1>", zero-padded to 12 digits like
 * redis-benchmark's -r names). A GET answered nil is a miss and is followed, in the same
 * slot of the pipeline, by SET key <VALUE_SIZE bytes>, as a cache-aside client fills its
 * cache; a GET answered with a value is a hit. Every connection draws from its own
 * generator seeded from SEED and its index, so a run's key sequences are reproducible.
 *
 * The run lasts SECONDS, or until REQUESTS GETs have been sent; the replies in flight
 * are then awaited. It prints, as "field:value" lines on stdout: the seconds run,
 * ops_per_sec (GETs and SETs answered a second), gets, hits, misses, sets, hit_ratio
 * (hits / gets answered with a value or nil) and errors (error replies; errors_oom of
 * them began with OOM). A first error of each kind is printed on stderr too. Errors are
 * counted, never dropped: a GET answered with an error is neither a hit nor a miss.
 *
 * It drives a single node or a Raft leader: a -MOVED reply (a follower, or a leader that
 * stepped down) ends the run at once with exit status 2, as does a lost connection or a
 * failed connect; it does not follow redirections. Exit status 1: bad arguments.
 *
 *   build/cachegen [-h host] [-p port] [-c conns] [-P depth] [-k keys] [-s exponent]
 *                  [-d value_size] [-t seconds | -n requests] [-S seed]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libev.h>

#include "zipf.h"

#define CONNS_MAX 1024
#define DEPTH_MAX 1024
#define VALUE_SIZE_MAX (1024 * 1024)
#define SECONDS_MAX 86400.0
#define REQUESTS_MAX 1000000000000LL
#define DRAIN_SECONDS 60.0   /* the replies in flight at the end must come back within this */
#define CONNECT_SECONDS 30.0 /* every connection must be up within this */
#define KEY_LEN_MAX 32

struct opts {
    const char *host;
    int port, conns, depth, value_size;
    uint64_t keys;
    double s, seconds;
    long long requests; /* GETs to send; 0: run for seconds */
    uint64_t seed;
};

struct stats {
    long long gets, hits, misses, sets, errors, errors_oom;
};

struct conn;

/* One slot of a connection's pipeline: a GET, then a SET of the same key on a miss. */
struct slot {
    struct conn *conn;
    char key[KEY_LEN_MAX];
    int key_len;
};

struct conn {
    redisAsyncContext *ac;
    struct zipf_rng rng;
    struct slot *slots;
    int in_flight;
    int index;
};

/* The run's state, shared by the callbacks (the loop is single-threaded). */
struct run {
    struct opts o;
    struct zipf zipf;
    struct conn *conns;
    char *value;
    struct stats st;
    long long gets_sent;
    int started;   /* every connection is up, requests flow */
    int stopping;  /* no new GET is sent */
    int connected; /* connections whose connect completed */
    int open;      /* connections not yet disconnected */
    int seen_oom, seen_other;
    ev_timer deadline; /* end of the run, then end of the drain */
    struct ev_loop *loop;
};

static struct run R;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cachegen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void send_get(struct slot *sl);

static void maybe_finish(void)
{
    if (!R.stopping) return;
    for (int i = 0; i < R.o.conns; i++)
        if (R.conns[i].in_flight > 0) return;
    for (int i = 0; i < R.o.conns; i++) {
        if (R.conns[i].ac) {
            redisAsyncContext *ac = R.conns[i].ac;
            R.conns[i].ac = NULL;
            redisAsyncDisconnect(ac);
        }
    }
    ev_timer_stop(R.loop, &R.deadline);
}

/* Counts an error reply; a -MOVED ends the run. */
static void count_error(const redisReply *reply, const char *cmd)
{
    R.st.errors++;
    if (!strncmp(reply->str, "MOVED ", 6))
        fail("-%s to %s: cachegen drives a single node or the leader, it does not follow "
             "redirections",
             reply->str, cmd);
    if (!strncmp(reply->str, "OOM", 3)) {
        R.st.errors_oom++;
        if (!R.seen_oom++)
            fprintf(stderr, "cachegen: first OOM error (counted in errors_oom): -%s\n", reply->str);
    } else if (!R.seen_other++) {
        fprintf(stderr, "cachegen: first other error (counted in errors): -%s\n", reply->str);
    }
}

/* A reply of NULL: the connection went away (our own disconnect frees pending
 * callbacks this way too, but it is only issued once nothing is in flight). */
static struct slot *reply_slot(void *privdata, const redisReply *reply, const char *cmd)
{
    struct slot *sl = privdata;
    if (!reply) fail("connection %d lost waiting for %s", sl->conn->index, cmd);
    sl->conn->in_flight--;
    return sl;
}

static void on_set(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    const redisReply *reply = r;
    struct slot *sl = reply_slot(privdata, reply, "SET");
    if (reply->type == REDIS_REPLY_ERROR)
        count_error(reply, "SET");
    else if (reply->type == REDIS_REPLY_STATUS)
        R.st.sets++;
    else
        fail("SET answered with reply type %d, not +OK", reply->type);
    send_get(sl);
}

static void on_get(redisAsyncContext *ac, void *r, void *privdata)
{
    (void)ac;
    const redisReply *reply = r;
    struct slot *sl = reply_slot(privdata, reply, "GET");
    if (reply->type == REDIS_REPLY_ERROR) {
        count_error(reply, "GET");
    } else if (reply->type == REDIS_REPLY_NIL) {
        R.st.gets++;
        R.st.misses++;
        if (redisAsyncCommand(sl->conn->ac, on_set, sl, "SET %b %b", sl->key, (size_t)sl->key_len,
                              R.value, (size_t)R.o.value_size) != REDIS_OK)
            fail("connection %d: SET not queued: %s", sl->conn->index, sl->conn->ac->errstr);
        sl->conn->in_flight++;
        return;
    } else if (reply->type == REDIS_REPLY_STRING) {
        R.st.gets++;
        R.st.hits++;
    } else {
        fail("GET answered with reply type %d, not a bulk string or nil", reply->type);
    }
    send_get(sl);
}

/* Sends the slot's next GET, unless the run is over. */
static void send_get(struct slot *sl)
{
    struct conn *c = sl->conn;
    if (R.stopping || (R.o.requests > 0 && R.gets_sent >= R.o.requests)) {
        R.stopping = 1;
        maybe_finish();
        return;
    }
    uint64_t rank = zipf_next(&R.zipf, &c->rng);
    sl->key_len = snprintf(sl->key, sizeof sl->key, "key:%012" PRIu64, rank - 1);
    if (redisAsyncCommand(c->ac, on_get, sl, "GET %b", sl->key, (size_t)sl->key_len) != REDIS_OK)
        fail("connection %d: GET not queued: %s", c->index, c->ac->errstr);
    c->in_flight++;
    R.gets_sent++;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double started_at;

/* Every connection is up: the clock starts (a request count runs without a time
 * limit, up to the longest run allowed). */
static void start_requests(void)
{
    R.started = 1;
    started_at = now_seconds();
    ev_timer_stop(R.loop, &R.deadline);
    ev_timer_set(&R.deadline, R.o.requests > 0 ? SECONDS_MAX : R.o.seconds, 0.);
    ev_timer_start(R.loop, &R.deadline);
    for (int i = 0; i < R.o.conns; i++)
        for (int d = 0; d < R.o.depth; d++)
            send_get(&R.conns[i].slots[d]);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    if (status != REDIS_OK) fail("connect to %s:%d: %s", R.o.host, R.o.port, ac->errstr);
    if (++R.connected == R.o.conns) start_requests();
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    if (status != REDIS_OK || !R.stopping)
        fail("disconnected from %s:%d: %s", R.o.host, R.o.port,
             ac->errstr[0] ? ac->errstr : "closed by the server");
    R.open--;
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    if (!R.started)
        fail("%d of %d connections up after %.0f s", R.connected, R.o.conns, CONNECT_SECONDS);
    if (R.stopping) {
        long long left = 0;
        for (int i = 0; i < R.o.conns; i++)
            left += R.conns[i].in_flight;
        fail("%lld replies still awaited %.0f s after the end of the run", left, DRAIN_SECONDS);
    }
    R.stopping = 1;
    ev_timer_set(w, DRAIN_SECONDS, 0.);
    ev_timer_start(loop, w);
    maybe_finish();
}

static void usage(void)
{
    fprintf(stderr,
            "usage: cachegen [-h host] [-p port] [-c conns] [-P depth] [-k keys] "
            "[-s exponent] [-d value_size] [-t seconds | -n requests] [-S seed]\n"
            "  -h host        server address (127.0.0.1)\n"
            "  -p port        server port (6379)\n"
            "  -c conns       connections, 1..%d (50)\n"
            "  -P depth       requests in flight per connection, 1..%d (16)\n"
            "  -k keys        key space, 1..%llu (10000000)\n"
            "  -s exponent    zipfian exponent, 0..%g (0.99; 0 is uniform)\n"
            "  -d value_size  bytes a SET writes, 1..%d (100)\n"
            "  -t seconds     run time, up to %.0f (10)\n"
            "  -n requests    GETs to send instead of a run time, up to %lld\n"
            "  -S seed        seed of the key sequences (1)\n",
            CONNS_MAX, DEPTH_MAX, (unsigned long long)ZIPF_N_MAX, ZIPF_S_MAX, VALUE_SIZE_MAX,
            SECONDS_MAX, REQUESTS_MAX);
    exit(1);
}

/* Parses a whole number in [lo, hi]; anything else is a usage error. */
static long long parse_ll(const char *s, long long lo, long long hi, char opt)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "cachegen: -%c wants a whole number in %lld..%lld, not '%s'\n", opt, lo, hi,
                s);
        usage();
    }
    return v;
}

static double parse_double(const char *s, double lo, double hi, char opt)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "cachegen: -%c wants a number in %g..%g, not '%s'\n", opt, lo, hi, s);
        usage();
    }
    return v;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
    int ch, have_t = 0;
    *o = (struct opts){.host = "127.0.0.1",
                       .port = 6379,
                       .conns = 50,
                       .depth = 16,
                       .value_size = 100,
                       .keys = 10000000,
                       .s = 0.99,
                       .seconds = 10,
                       .seed = 1};
    while ((ch = getopt(argc, argv, "h:p:c:P:k:s:d:t:n:S:")) != -1) {
        switch (ch) {
        case 'h':
            if (strlen(optarg) == 0 || strlen(optarg) > 255) usage();
            o->host = optarg;
            break;
        case 'p':
            o->port = (int)parse_ll(optarg, 1, 65535, 'p');
            break;
        case 'c':
            o->conns = (int)parse_ll(optarg, 1, CONNS_MAX, 'c');
            break;
        case 'P':
            o->depth = (int)parse_ll(optarg, 1, DEPTH_MAX, 'P');
            break;
        case 'k':
            o->keys = (uint64_t)parse_ll(optarg, 1, (long long)ZIPF_N_MAX, 'k');
            break;
        case 's':
            o->s = parse_double(optarg, 0, ZIPF_S_MAX, 's');
            break;
        case 'd':
            o->value_size = (int)parse_ll(optarg, 1, VALUE_SIZE_MAX, 'd');
            break;
        case 't':
            o->seconds = parse_double(optarg, 0.001, SECONDS_MAX, 't');
            have_t = 1;
            break;
        case 'n':
            o->requests = parse_ll(optarg, 1, REQUESTS_MAX, 'n');
            break;
        case 'S':
            o->seed = (uint64_t)parse_ll(optarg, 0, INT64_MAX, 'S');
            break;
        default:
            usage();
        }
    }
    if (optind != argc || (have_t && o->requests > 0)) usage();
}

static void print_results(double elapsed)
{
    const struct stats *s = &R.st;
    long long answered = s->gets + s->sets;
    printf("seconds:%.3f\n", elapsed);
    printf("ops_per_sec:%.0f\n", elapsed > 0 ? (double)answered / elapsed : 0.0);
    printf("gets:%lld\nhits:%lld\nmisses:%lld\nsets:%lld\n", s->gets, s->hits, s->misses, s->sets);
    printf("hit_ratio:%.4f\n", s->gets > 0 ? (double)s->hits / (double)s->gets : 0.0);
    printf("errors:%lld\nerrors_oom:%lld\n", s->errors, s->errors_oom);
}

int main(int argc, char **argv)
{
    parse_args(argc, argv, &R.o);
    if (zipf_init(&R.zipf, R.o.keys, R.o.s) != 0) usage();
    R.loop = EV_DEFAULT;
    R.value = malloc((size_t)R.o.value_size);
    R.conns = calloc((size_t)R.o.conns, sizeof *R.conns);
    if (!R.value || !R.conns) fail("out of memory");
    for (int i = 0; i < R.o.value_size; i++)
        R.value[i] = (char)('a' + i % 26);
    for (int i = 0; i < R.o.conns; i++) {
        struct conn *c = &R.conns[i];
        c->index = i;
        zipf_rng_seed(&c->rng, R.o.seed * 1000003 + (uint64_t)i);
        c->slots = calloc((size_t)R.o.depth, sizeof *c->slots);
        if (!c->slots) fail("out of memory");
        for (int d = 0; d < R.o.depth; d++)
            c->slots[d].conn = c;
        c->ac = redisAsyncConnect(R.o.host, R.o.port);
        if (!c->ac || c->ac->err)
            fail("connect to %s:%d: %s", R.o.host, R.o.port, c->ac ? c->ac->errstr : "no memory");
        redisLibevAttach(R.loop, c->ac);
        redisAsyncSetConnectCallback(c->ac, on_connect);
        redisAsyncSetDisconnectCallback(c->ac, on_disconnect);
        R.open++;
    }
    ev_timer_init(&R.deadline, on_deadline, CONNECT_SECONDS, 0.);
    ev_timer_start(R.loop, &R.deadline);
    ev_run(R.loop, 0);
    double elapsed = now_seconds() - started_at;
    print_results(elapsed);
    for (int i = 0; i < R.o.conns; i++)
        free(R.conns[i].slots);
    free(R.conns);
    free(R.value);
    return 0;
}
