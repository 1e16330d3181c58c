// An application in Sentinel mode, for tests/integration/test_sentinel.py:
// the same protocol as sentinel_writer.rb (read it for what is retried and
// what is an error). The library is ioredis (new Redis({sentinels, name}))
// or, with SENTINEL_LIB=redis5 or redis6, node-redis's createSentinel; each
// is found through NODE_PATH (the test installs them, or points NODE_PATH
// at the node_modules the RAFTCACHE_NODE_MODULES variable names).
//
// Usage: node sentinel_writer.js STOPFILE PREFIX MASTER-NAME HOST:PORT...
// With --cluster in place of MASTER-NAME, the same application uses
// ioredis's cluster mode (new Redis.Cluster(nodes)) instead.
"use strict";
const fs = require("fs");

const RETRY_MS = 30000;
const [stop, prefix, name, ...addrs] = process.argv.slice(2);
const lib = process.env.SENTINEL_LIB || "ioredis";
const sentinels = addrs.map((a) => {
  const [host, port] = a.split(":");
  return { host, port: Number(port) };
});

// The client: set, get, disconnect; ready once it found the master.
function ioredisClient() {
  const Redis = require("ioredis");
  const r = name === "--cluster"
    ? new Redis.Cluster(sentinels, { redisOptions: { connectTimeout: 5000, commandTimeout: 5000 } })
    : new Redis({ sentinels, name, role: "master", connectTimeout: 5000, commandTimeout: 5000,
                  maxRetriesPerRequest: 1 });
  r.on("error", () => {}); // reconnects are ioredis's job; failed commands are counted below
  return { ready: Promise.resolve(), set: (k, v) => r.set(k, v), get: (k) => r.get(k),
           disconnect: () => r.disconnect() };
}

function nodeRedisClient() {
  const { createSentinel } = require(lib);
  const s = createSentinel({
    name, sentinelRootNodes: sentinels,
    nodeClientOptions: { socket: { connectTimeout: 5000 } },
    sentinelClientOptions: { socket: { connectTimeout: 5000 } },
  });
  s.on("error", () => {}); // its reconnects; failed commands are counted below
  return { ready: s.connect(), set: (k, v) => s.set(k, v), get: (k) => s.get(k),
           disconnect: () => s.destroy() };
}

const redis = lib === "ioredis" ? ioredisClient() : nodeRedisClient();
const counts = { connection_errors: 0, retried_replies: 0 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// An error reply of the server (ioredis's ReplyError, node-redis's ErrorReply).
function isReply(e) {
  if (!e) return false;
  return e.name === "ReplyError" || /^(ErrorReply|SimpleError|BlobError)$/.test(e.constructor.name);
}

async function withRetries(f) {
  const started = Date.now();
  for (;;) {
    try {
      return await f();
    } catch (e) {
      if (isReply(e)) {
        if (!/^(TRYAGAIN|TIMEOUT)/.test(e.message)) throw e;
        counts.retried_replies++;
      } else {
        counts.connection_errors++;
      }
      if (Date.now() - started > RETRY_MS) throw e;
      await sleep(50);
    }
  }
}

(async () => {
  let acked = 0, missing = null;
  const errors = [];
  try {
    await redis.ready;
    while (!fs.existsSync(stop)) {
      await withRetries(() => redis.set(prefix + acked, String(acked)));
      acked++;
    }
    missing = 0;
    for (let i = 0; i < acked; i++) {
      if ((await withRetries(() => redis.get(prefix + i))) !== String(i)) missing++;
    }
  } catch (e) {
    errors.push(`${e.name}: ${e.message}`);
  }
  console.log(JSON.stringify({ acked, missing, errors, ...counts }));
  redis.disconnect();
})();
