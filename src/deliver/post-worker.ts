import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { parentPort } from 'node:worker_threads';
import { ForbiddenAddressError } from '../net/url-guard.js';
import type { FromThread, ToThread } from './post.js';
import { sendWebhook, type AttemptResult } from './post-http.js';

/**
 * The webhook thread (post.ts): signs and sends the attempts the event loop hands over, many at
 * once, over this thread's keep-alive pools, and answers with each AttemptResult. The answers of
 * one turn go back as one message.
 */
const port = parentPort!;

// Guarded names are resolved and checked by the event loop (post.ts), on this request.
const lookups = new Map<number, { all: boolean; callback: Parameters<LookupFunction>[2] }>();
let nextLookup = 1;
const lookupOnMain: LookupFunction = (hostname, options, callback) => {
  const id = nextLookup++;
  lookups.set(id, { all: options.all === true, callback });
  port.postMessage({ lookup: id, hostname, family: typeof options.family === 'number' ? options.family : 0, hints: options.hints } satisfies FromThread);
};

function answered(m: Extract<ToThread, { lookup: number }>): void {
  const l = lookups.get(m.lookup);
  if (!l) return;
  lookups.delete(m.lookup);
  if (m.error) {
    const err =
      m.error.detail !== null ? new ForbiddenAddressError(m.error.detail) : Object.assign(new Error(m.error.message), { code: m.error.code ?? undefined });
    return l.callback(err, '');
  }
  const addresses: LookupAddress[] = m.addresses;
  const first = addresses[0]!;
  if (l.all) l.callback(null, addresses);
  else l.callback(null, first.address, first.family);
}

let results: { id: number; result: AttemptResult }[] = [];
const flush = () => {
  port.postMessage({ results } satisfies FromThread);
  results = [];
};

port.on('message', (m: ToThread) => {
  if ('lookup' in m) return answered(m);
  for (const { id, input } of m.posts) {
    const body = typeof input.body === 'string' ? input.body : Buffer.from(input.body.buffer, input.body.byteOffset, input.body.byteLength);
    void sendWebhook({ ...input, body }, lookupOnMain).then((result) => {
      if (results.push({ id, result }) === 1) setImmediate(flush);
    });
  }
});
