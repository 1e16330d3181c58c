// Node client libraries through a leader kill -9, driven by
// tests/integration/test_clients.py (the protocol is described at the top of
// tests/clients/redispy_failover.py).
//
// Usage: node node_failover.js LIB MODE SEEDS PREFIX N
//   LIB: ioredis, redis4, redis5 or redis6 (package.json's npm aliases of
//   node-redis); MODE: cluster (the library's cluster client on every seed),
//   rebuild (the same, replaced by a new one after REBUILD_AFTER failed
//   attempts in a row), or proxy or leader (a plain client on the first seed).
'use strict';
const readline = require('readline');

const RETRY_MS = 1000 * Number(process.env.CLIENT_RETRY_S || 30);
// The replies a cluster gives while it elects a leader, and the libraries'
// own errors for a lost or refused connection: an application retries these.
const FATAL = /^(ERR|WRONGTYPE|NOSCRIPT|NOAUTH|EXECABORT)/;

const ATTEMPT_MS = 3000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One attempt: the library's promise, or a timeout error after ATTEMPT_MS
// (a library may queue a command for a node that never comes back).
function attempt(fn) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no reply within ${ATTEMPT_MS} ms`)), ATTEMPT_MS);
  });
  return Promise.race([fn(), timeout]).finally(() => clearTimeout(timer));
}

// The client; in mode rebuild the application replaces it with a new one
// after REBUILD_AFTER failed attempts in a row.
const REBUILD_AFTER = 3;
const session = { c: null, lib: '', mode: '', seeds: '' };

async function rebuild() {
  const old = session.c;
  try {
    session.c = await attempt(() => connect(session.lib, session.mode, session.seeds));
  } catch (e) {
    process.stderr.write(`rebuild: ${e.message}\n`);
    return;
  }
  old.close().catch(() => {});
}

async function retry(what, fn) {
  const deadline = Date.now() + RETRY_MS;
  let failures = 0;
  for (;;) {
    try {
      return await attempt(() => fn(session.c));
    } catch (e) {
      const msg = String((e && e.message) || e);
      if (FATAL.test(msg)) throw e;
      if (Date.now() > deadline) throw new Error(`${what}: still failing after ${RETRY_MS} ms: ${msg}`);
      process.stderr.write(`${what}: ${msg}\n`);
      if (session.mode === 'rebuild' && ++failures % REBUILD_AFTER === 0) await rebuild();
      await sleep(100);
    }
  }
}

async function connect(lib, mode, seeds) {
  const addrs = seeds.split(',').map((s) => {
    const i = s.lastIndexOf(':');
    return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
  });
  if (lib === 'ioredis') {
    const Redis = require('ioredis');
    const c = mode !== 'proxy' && mode !== 'leader'
      ? new Redis.Cluster(addrs, { redisOptions: { connectTimeout: 1000 } })
      : new Redis({ ...addrs[0], connectTimeout: 1000 });
    c.on('error', (e) => process.stderr.write(`ioredis: ${e.message}\n`));
    return {
      set: (k, v) => c.set(k, v),
      get: (k) => c.get(k),
      // MULTI/EXEC in cluster mode; a pipeline on a plain connection (a
      // follower's proxy forwards no transaction: docs/cluster-replies.md).
      batch: async (k, v, r) => {
        const p = mode !== 'proxy' && mode !== 'leader' ? c.multi() : c.pipeline();
        const res = await p.set(k, v).get(r).exec();
        if (!res) throw new Error('transaction aborted');
        for (const [err] of res) if (err) throw err;
        return res.map(([, val]) => val);
      },
      close: () => c.disconnect(),
    };
  }
  const redis = require(lib);
  const socket = { connectTimeout: 1000 };
  const c = mode !== 'proxy' && mode !== 'leader'
    ? redis.createCluster({
      rootNodes: addrs.map((a) => ({ url: `redis://${a.host}:${a.port}` })),
      defaults: { socket },
    })
    : redis.createClient({ socket: { ...socket, ...addrs[0] } });
  c.on('error', (e) => process.stderr.write(`${lib}: ${e.message}\n`));
  await retry('connect', () => c.connect());
  return {
    set: (k, v) => c.set(k, v),
    get: (k) => c.get(k),
    // node-redis sends a cluster's MULTI to the node of its first key; on a
    // plain connection the batch goes as a pipeline.
    batch: (k, v, r) => c.multi().set(k, v).get(r)[mode !== 'proxy' && mode !== 'leader' ? 'exec' : 'execAsPipeline'](),
    close: () => (c.disconnect ? c.disconnect() : c.close()),
  };
}

async function phase(prefix, lo, hi) {
  for (let i = lo; i < hi; i++) {
    const key = `${prefix}:${i}`;
    const ok = await retry(`SET ${key}`, (c) => c.set(key, `v${i}`));
    if (ok !== 'OK') throw new Error(`SET ${key}: ${ok}`);
    console.log(`ack ${key} v${i}`);
  }
  for (let i = lo; i < hi; i++) {
    const key = `${prefix}:${i}`;
    const got = await retry(`GET ${key}`, (c) => c.get(key));
    if (got !== `v${i}`) throw new Error(`GET ${key}: ${got}`);
  }
  // Both keys share a hash tag, so the batch has one slot.
  const tagged = `{${prefix}:${lo}}`;
  const key = `${tagged}:b`;
  const got = await retry('batch', (c) => c.batch(key, 'b', key));
  if (JSON.stringify(got) !== JSON.stringify(['OK', 'b'])) throw new Error(`batch: ${JSON.stringify(got)}`);
  console.log(`ack ${key} b`);
}

async function main() {
  const [lib, mode, seeds, prefix, nArg] = process.argv.slice(2);
  const n = Number(nArg);
  Object.assign(session, { lib, mode, seeds });
  session.c = await connect(lib, mode, seeds);
  await phase(prefix, 0, n);
  console.log('phase1');
  const rl = readline.createInterface({ input: process.stdin });
  await new Promise((resolve) => rl.once('line', resolve));
  rl.close();
  await phase(prefix, n, 2 * n);
  console.log('done');
  await session.c.close();
}

main().then(() => process.exit(0), (e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
