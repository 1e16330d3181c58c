// An ioredis application in Sentinel mode, for
// tests/integration/test_sentinel.py: the same protocol as
// sentinel_writer.rb (read it for what is retried and what is an error).
// ioredis is found through NODE_PATH (the test installs it, or points
// NODE_PATH at the node_modules the RAFTCACHE_NODE_MODULES variable names).
//
// Usage: node sentinel_writer.js STOPFILE PREFIX MASTER-NAME HOST:PORT...
// With --cluster in place of MASTER-NAME, the same application uses
// ioredis's cluster mode (new Redis.Cluster(nodes)) instead.
"use strict";
const fs = require("fs");
const Redis = require("ioredis");

const RETRY_MS = 30000;
const [stop, prefix, name, ...addrs] = process.argv.slice(2);
const sentinels = addrs.map((a) => {
  const [host, port] = a.split(":");
  return { host, port: Number(port) };
});
const redis = name === "--cluster"
  ? new Redis.Cluster(sentinels, { redisOptions: { connectTimeout: 5000, commandTimeout: 5000 } })
  : new Redis({ sentinels, name, role: "master", connectTimeout: 5000, commandTimeout: 5000,
                maxRetriesPerRequest: 1 });
redis.on("error", () => {}); // reconnects are ioredis's job; failed commands are counted below
const counts = { connection_errors: 0, retried_replies: 0 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function isReply(e) {
  return e && e.name === "ReplyError";
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
