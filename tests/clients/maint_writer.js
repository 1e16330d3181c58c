// A plain node-redis client (RESP3, so maintenance notifications are on by
// default) writing without pause to one raftcache node, driven by
// tests/integration/test_maint_notifications.py through a rolling restart.
//
// Usage: node maint_writer.js PKG PORT
//   PKG: the node-redis package (redis5 or redis6, tests/clients/package.json).
// Sets w:0, w:1, ... to their index, one at a time, until a line arrives on
// stdin; then prints one JSON line {"acked": n, "errors": [...], "moves": m}:
// w:0 .. w:(n-1) were acknowledged, errors are the messages of the writes
// that failed (their keys are not counted), moves the MOVING notifications
// the client acted on. The client retries nothing itself: what it sees is
// what an application would.
'use strict';

const [pkg, port] = process.argv.slice(2);
const { createClient } = require(pkg);

async function main() {
  // RESP3 (node-redis 6's default; 5 needs it said): maintenance
  // notifications are then on by default ('auto'), as an application gets them
  const client = createClient({
    socket: { host: '127.0.0.1', port: Number(port), reconnectStrategy: () => 100 },
    RESP: 3,
  });
  client.on('error', () => {}); // each failed write says what it saw
  let moves = 0;
  const diagnostics = require('node:diagnostics_channel');
  diagnostics.subscribe('redis.maintenance', (event) => {
    if (event && event.type === 'MOVING') moves++;
  });
  await client.connect();
  let stop = false;
  process.stdin.on('data', () => {
    stop = true;
  });
  let acked = 0;
  const errors = [];
  while (!stop) {
    try {
      await client.set(`w:${acked}`, String(acked));
      acked++;
    } catch (e) {
      errors.push(String(e && e.message ? e.message : e));
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  process.stdout.write(JSON.stringify({ acked, errors, moves }) + '\n');
  client.destroy();
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stdout.write(JSON.stringify({ error: String(e) }) + '\n');
    process.exit(1);
  },
);
