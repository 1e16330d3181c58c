<?php
// phpredis (Debian's php-redis) through a leader kill -9, driven by
// tests/integration/test_clients.py (the protocol is described at the top of
// tests/clients/redispy_failover.py). In cluster mode one long-lived
// RedisCluster object serves the whole run, as in a worker process; in mode
// rebuild the application replaces it after REBUILD_AFTER failed attempts.
//
// Usage: php phpredis_failover.php MODE SEEDS PREFIX N

define('RETRY_S', (float)(getenv('CLIENT_RETRY_S') ?: 30));
// The replies a cluster gives while it elects a leader; phpredis's own
// exceptions (connection lost, cluster unreachable) are retried too.
const RETRYABLE = '/^(CLUSTERDOWN|TIMEOUT|TRYAGAIN|MOVED|LOADING)/';

function out($line) { fwrite(STDOUT, $line . "\n"); fflush(STDOUT); }

// Mode rebuild: failed attempts in a row before the application replaces
// its RedisCluster object with a new one.
const REBUILD_AFTER = 3;

function retry_op($what, callable $fn) {
    global $mode, $seeds, $r;
    $deadline = microtime(true) + RETRY_S;
    $failures = 0;
    for (;;) {
        $err = null;
        try {
            $r->clearLastError();
            $res = $fn($r);
            if ($res !== false) return $res;
            $err = (string)$r->getLastError();
            if (!preg_match(RETRYABLE, $err)) throw new RuntimeException("$what: error reply '$err'");
        } catch (RedisException | RedisClusterException $e) {
            $err = get_class($e) . ': ' . $e->getMessage();
            // A plain Redis object whose reconnection failed once stays
            // disconnected ("went away"): the application connects again.
            if ($r instanceof Redis) reconnect($r);
        }
        if ($mode === 'rebuild' && ++$failures % REBUILD_AFTER === 0) {
            try {
                $r = connect($mode, $seeds);
            } catch (RedisClusterException $e) {
                fwrite(STDERR, 'rebuild: ' . $e->getMessage() . "\n");
            }
        }
        if (microtime(true) > $deadline) throw new RuntimeException("$what: still failing after " . RETRY_S . "s: $err");
        fwrite(STDERR, "$what: $err\n");
        usleep(100000);
    }
}

// The client ($r: a RedisCluster or a Redis object) lives in a global, so
// that mode rebuild can replace it.
function connect($mode, $seeds) {
    global $plain_addr;
    if ($mode === 'cluster' || $mode === 'rebuild') return new RedisCluster(null, explode(',', $seeds), 1.0, 2.0);
    $plain_addr = explode(':', explode(',', $seeds)[0]);
    $r = new Redis();
    reconnect($r);
    return $r;
}

function reconnect($r) {
    global $plain_addr;
    try {
        $r->close();
        $r->connect($plain_addr[0], (int)$plain_addr[1], 1.0, null, 0, 2.0);
    } catch (RedisException $e) {
        fwrite(STDERR, 'connect: ' . $e->getMessage() . "\n");
    }
}

function phase($mode, $prefix, $lo, $hi) {
    for ($i = $lo; $i < $hi; $i++) {
        $key = "$prefix:$i";
        retry_op("SET $key", fn($c) => $c->set($key, "v$i"));
        out("ack $key v$i");
    }
    for ($i = $lo; $i < $hi; $i++) {
        $key = "$prefix:$i";
        $got = retry_op("GET $key", fn($c) => $c->get($key));
        if ($got !== "v$i") throw new RuntimeException("GET $key: " . var_export($got, true));
    }
    // MULTI/EXEC in cluster mode; a pipeline through the proxy (a follower
    // forwards no transaction).
    $key = "{" . "$prefix:$lo}:b";
    $got = retry_op('batch', function ($c) use ($mode, $key) {
        $b = $c instanceof RedisCluster ? $c->multi() : $c->pipeline();
        return $b->set($key, 'b')->get($key)->exec();
    });
    if ($got !== [true, 'b']) throw new RuntimeException('batch: ' . var_export($got, true));
    out("ack $key b");
}

[, $mode, $seeds, $prefix, $n] = $argv;
$n = (int)$n;
$r = connect($mode, $seeds);
phase($mode, $prefix, 0, $n);
out('phase1');
fgets(STDIN);
phase($mode, $prefix, $n, 2 * $n);
out('done');
