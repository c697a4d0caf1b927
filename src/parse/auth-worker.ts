import { createReadStream } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { computeAuth, threadResolver } from './auth.js';
import type { AuthReply, AuthTask } from './auth-pool.js';

/**
 * The auth thread (auth-pool.ts): SPF, DKIM, DMARC and ARC of each message, many at once (they
 * mostly wait on DNS), with this thread's own resolver.
 */
parentPort!.on('message', (task: AuthTask) => {
  const resolver = threadResolver(task.servers, task.dnsTimeoutMs, task.dnsCacheSeconds);
  const raw = task.path ? createReadStream(task.path) : Buffer.from(task.raw!.buffer, task.raw!.byteOffset, task.raw!.byteLength);
  void computeAuth(raw, task.env, { resolver, mta: task.mta, timeoutMs: task.timeoutMs }).then((result) =>
    parentPort!.postMessage({ id: task.id, result } satisfies AuthReply),
  );
});
