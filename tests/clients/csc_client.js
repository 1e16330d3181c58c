// node-redis client-side caching (clientSideCache, RESP3) against one
// raftcache node, driven line by line by tests/integration/test_tracking.py.
//
// Usage: node csc_client.js PKG PORT
//   PKG: the node-redis package (redis5 or redis6, tests/clients/package.json).
// Reads commands from stdin, one per line, and answers each with one JSON
// line on stdout:
//   get KEY   {"value": <the reply>, "hits": <cache hits>, "misses": <misses>}
//   quit      exits 0
// A command that fails, or gets no answer within COMMAND_MS, answers
// {"error": "<message>"}; the client reconnects by itself (node-redis's
// default strategy) and keeps its cache only while it stays connected.
'use strict';

const readline = require('readline');

const COMMAND_MS = 5000;
const [pkg, port] = process.argv.slice(2);
const { createClient } = require(pkg);

function within(promise, ms) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function main() {
  const client = createClient({
    socket: { host: '127.0.0.1', port: Number(port) },
    RESP: 3,
    clientSideCache: { ttl: 0, maxEntries: 0 },
  });
  client.on('error', () => {}); // reconnects by itself; a command reports what it saw
  await client.connect();
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [cmd, key] = line.trim().split(/\s+/);
    if (cmd === 'quit') break;
    let out;
    try {
      if (cmd !== 'get') throw new Error(`unknown command ${cmd}`);
      const value = await within(client.get(key), COMMAND_MS);
      const stats = client.clientSideCache.stats();
      out = { value, hits: stats.hitCount, misses: stats.missCount };
    } catch (e) {
      out = { error: String(e && e.message ? e.message : e) };
    }
    process.stdout.write(JSON.stringify(out) + '\n');
  }
  await client.close();
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stdout.write(JSON.stringify({ error: String(e) }) + '\n');
    process.exit(1);
  },
);
