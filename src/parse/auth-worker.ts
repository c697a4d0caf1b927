import { createReadStream } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { computeAuth, createAuthResolver, type AuthResolver } from './auth.js';
import type { AuthReply, AuthTask } from './auth-pool.js';

/**
 * The auth thread (auth-pool.ts): SPF, DKIM, DMARC and ARC of each message, many at once (they
 * mostly wait on DNS), with this thread's own resolver.
 */
const resolvers = new Map<string, AuthResolver>();

parentPort!.on('message', (task: AuthTask) => {
  const key = `${task.servers.join(',')}|${task.dnsTimeoutMs}|${task.dnsCacheSeconds}`;
  let resolver = resolvers.get(key);
  if (!resolver) resolvers.set(key, (resolver = createAuthResolver(task.servers, task.dnsTimeoutMs, { cacheSeconds: task.dnsCacheSeconds })));
  const raw = task.path ? createReadStream(task.path) : Buffer.from(task.raw!.buffer, task.raw!.byteOffset, task.raw!.byteLength);
  void computeAuth(raw, task.env, { resolver, mta: task.mta, timeoutMs: task.timeoutMs }).then((result) =>
    parentPort!.postMessage({ id: task.id, result } satisfies AuthReply),
  );
});
