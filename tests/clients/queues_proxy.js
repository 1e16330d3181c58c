// Job queues of Node applications on a raftcache follower with
// raft-follower-proxy on, driven by tests/integration/test_proxy_frameworks.py.
//
// Usage: node queues_proxy.js LIB PRODUCER_PORT WORKER_PORT N
//   LIB: bullmq (Queue, Worker, QueueEvents: Lua scripts, MULTI, BZPOPMIN,
//   XREAD BLOCK) or bee-queue (MULTI, BRPOPLPUSH, pub/sub events).
// The producer and the worker connect to the ports given (followers), as
// plain clients that cannot follow -MOVED. The worker doubles each job's x;
// the producer adds N jobs and waits for every result through the library's
// own completion events. Prints "ok <sum of results>" and exits 0, or prints
// the error and exits 1; a run longer than DEADLINE_MS is an error.
'use strict';

const DEADLINE_MS = 60000;
const [lib, producerPort, workerPort, nStr] = process.argv.slice(2);
const n = Number(nStr);
const host = '127.0.0.1';

async function bullmq() {
  const { Queue, Worker, QueueEvents } = require('bullmq');
  const conn = (port) => ({ host, port: Number(port), maxRetriesPerRequest: null });
  const events = new QueueEvents('proxied', { connection: conn(producerPort) });
  await events.waitUntilReady();
  const worker = new Worker('proxied', async (job) => job.data.x * 2, {
    connection: conn(workerPort),
  });
  const queue = new Queue('proxied', { connection: conn(producerPort) });
  const jobs = [];
  for (let i = 0; i < n; i++) jobs.push(await queue.add('double', { x: i }));
  const results = await Promise.all(jobs.map((j) => j.waitUntilFinished(events, DEADLINE_MS)));
  await worker.close();
  await queue.close();
  await events.close();
  return results.reduce((a, b) => a + b, 0);
}

async function beeQueue() {
  const Queue = require('bee-queue');
  const redis = (port) => ({ host, port: Number(port) });
  const producer = new Queue('proxied', { redis: redis(producerPort), isWorker: false });
  const worker = new Queue('proxied', { redis: redis(workerPort) });
  worker.process(async (job) => job.data.x * 2);
  await producer.ready();
  await worker.ready();
  const done = [];
  for (let i = 0; i < n; i++) {
    const job = await producer.createJob({ x: i }).save();
    done.push(new Promise((resolve, reject) => {
      job.on('succeeded', resolve);
      job.on('failed', reject);
    }));
  }
  const results = await Promise.all(done);
  await worker.close();
  await producer.close();
  return results.reduce((a, b) => a + b, 0);
}

const run = { bullmq, 'bee-queue': beeQueue }[lib];
if (!run) {
  console.log(`unknown library ${lib}`);
  process.exit(2);
}
const timer = setTimeout(() => {
  console.log(`no result within ${DEADLINE_MS} ms`);
  process.exit(1);
}, DEADLINE_MS);
run().then(
  (sum) => {
    clearTimeout(timer);
    console.log(`ok ${sum}`);
    process.exit(0);
  },
  (err) => {
    console.log(`error: ${err && err.stack ? err.stack : err}`);
    process.exit(1);
  },
);
