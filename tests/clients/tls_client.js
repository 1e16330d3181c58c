// One TLS client of a Node.js library against one raftcache node, for
// tests/integration/test_tls.py.
//
// Usage: node tls_client.js PKG PORT CA CERT KEY KEYNAME
//   PKG: ioredis, redis4, redis5 or redis6 (tests/clients/package.json).
// Connects over TLS (verifying the node's certificate against CA, and
// presenting CERT/KEY), sets KEYNAME to "<PKG>-ok", reads it back and prints
// one JSON line: {"value": <what GET returned>} or {"error": "<message>"}.
// Exits within DEADLINE_MS whatever happens.
'use strict';

const fs = require('fs');

const DEADLINE_MS = 20000;
const [pkg, port, ca, cert, key, name] = process.argv.slice(2);
const tls = {
  ca: fs.readFileSync(ca),
  cert: fs.readFileSync(cert),
  key: fs.readFileSync(key),
  servername: 'localhost',
};

function done(result) {
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}
setTimeout(() => done({ error: `no result within ${DEADLINE_MS} ms` }), DEADLINE_MS).unref();

async function viaIoredis() {
  const Redis = require('ioredis');
  const r = new Redis({ host: '127.0.0.1', port: Number(port), tls, maxRetriesPerRequest: 1 });
  r.on('error', () => {});
  await r.set(name, `${pkg}-ok`);
  const v = await r.get(name);
  r.disconnect();
  return v;
}

async function viaNodeRedis() {
  const { createClient } = require(pkg);
  const c = createClient({ socket: { host: '127.0.0.1', port: Number(port), tls: true, ...tls } });
  c.on('error', () => {});
  await c.connect();
  await c.set(name, `${pkg}-ok`);
  const v = await c.get(name);
  await c.quit();
  return v;
}

(pkg === 'ioredis' ? viaIoredis() : viaNodeRedis())
  .then((value) => done({ value }))
  .catch((e) => done({ error: String(e && e.message ? e.message : e) }));
