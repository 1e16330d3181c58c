<?php
// A phpredis (Debian's php-redis 5.3.7) application in Sentinel mode, for
// tests/integration/test_sentinel.py: the same protocol as
// sentinel_writer.rb (read it for what is retried and what is an error).
// phpredis's Sentinel support is discovery: RedisSentinel asks a sentinel
// for the master's address (getMasterAddrByName), and the application
// connects a plain Redis object there; on a connection error it asks
// again, each sentinel in turn, as phpredis's documentation has it.
//
// Usage: php sentinel_writer.php STOPFILE PREFIX MASTER-NAME HOST:PORT...

const RETRY_S = 30;
[, $stop, $prefix, $name] = $argv;
$sentinels = array_map(fn($a) => explode(':', $a), array_slice($argv, 4));
$counts = ['connection_errors' => 0, 'retried_replies' => 0];
$r = null;

// The master as the first sentinel that answers names it, connected; or null.
function master_connection() {
    global $sentinels, $name;
    foreach ($sentinels as [$host, $port]) {
        try {
            $s = new RedisSentinel($host, (int)$port, 1.0);
            $addr = $s->getMasterAddrByName($name);
            if (!is_array($addr)) continue;
            $r = new Redis();
            $r->connect($addr[0], (int)$addr[1], 1.0, null, 0, 5.0);
            return $r;
        } catch (RedisException $e) {
            continue; // that sentinel, or the master it named, is down: the next one
        }
    }
    return null;
}

function with_retries(callable $fn) {
    global $r, $counts;
    $started = microtime(true);
    for (;;) {
        try {
            if ($r === null) $r = master_connection();
            if ($r !== null) {
                $r->clearLastError();
                $res = $fn($r);
                if ($res !== false) return $res;
                $err = (string)$r->getLastError();
                if (!preg_match('/^(TRYAGAIN|TIMEOUT)/', $err))
                    throw new RuntimeException("error reply '$err'");
                $counts['retried_replies']++;
            } else {
                $counts['connection_errors']++;
            }
        } catch (RedisException $e) {
            $counts['connection_errors']++;
            $r = null; // ask the sentinels again
        }
        if (microtime(true) - $started > RETRY_S) throw new RuntimeException('still failing after ' . RETRY_S . ' s');
        usleep(50000);
    }
}

$acked = 0;
$missing = null;
$errors = [];
try {
    while (!file_exists($stop)) {
        with_retries(fn($c) => $c->set("$prefix$acked", (string)$acked));
        $acked++;
    }
    $missing = 0;
    for ($i = 0; $i < $acked; $i++)
        if (with_retries(fn($c) => $c->get("$prefix$i")) !== (string)$i) $missing++;
} catch (Throwable $e) {
    $errors[] = get_class($e) . ': ' . $e->getMessage();
}
echo json_encode(['acked' => $acked, 'missing' => $missing, 'errors' => $errors,
                  'connection_errors' => $counts['connection_errors'],
                  'retried_replies' => $counts['retried_replies']]), "\n";
