import { createReadStream } from 'node:fs';
import { setPriority } from 'node:os';
import { Readable } from 'node:stream';
import { parentPort, type MessagePort } from 'node:worker_threads';
import { computeAuth, loadMailauth, threadResolver } from './auth.js';
import { TEMPERROR } from './auth-pool.js';
import { parseMessage, type ParseOutcome } from './parse-message.js';
import { tee } from './tee.js';
import { CHUNK_WINDOW, type FromWorker, type JsonOutcome, type ParseTask, type ToWorker } from './parse-protocol.js';

/**
 * A parse thread (parse-pool.ts): runs the same parseMessage as the main thread, and sends each
 * attachment back as chunks for the main thread to store.
 */

// Below the main thread's priority (Linux: per thread): when parses and the event loop want the
// same core, SMTP sessions and API calls go first. Not permitted everywhere: then as it is.
try {
  setPriority(5);
} catch {
  // the default priority
}

interface Outgoing {
  inFlight: number;
  wake: (() => void) | null;
  failed: Error | null;
  stored: { resolve(): void; reject(err: Error): void };
}

/** The task's auth checks on `raw` (then dropped); answered over the port, never throws. */
async function checkAuth(task: ParseTask, raw: Readable | Buffer, drop: () => void): Promise<void> {
  const a = task.auth!;
  try {
    const resolver = threadResolver(a.servers, a.dnsTimeoutMs, a.dnsCacheSeconds);
    // computeAuth's clock starts now: the pool ends this thread if the answer is not back in time.
    await loadMailauth();
    task.port.postMessage({ t: 'checking' } satisfies FromWorker);
    const result = await computeAuth(raw, a.env, { resolver, mta: a.mta, timeoutMs: a.timeoutMs });
    task.port.postMessage({ t: 'auth', result } satisfies FromWorker);
  } catch {
    // computeAuth never throws; a resolver that cannot be made (bad DNS_SERVERS) must not end the thread.
    task.port.postMessage({ t: 'auth', result: TEMPERROR } satisfies FromWorker);
  } finally {
    drop();
  }
}

/** Resolves once the parse is answered; the auth checks, if any, may still be waiting on DNS then. */
async function run(task: ParseTask): Promise<void> {
  const port: MessagePort = task.port;
  const send = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
  const outgoing = new Map<number, Outgoing>();
  port.on('message', (m: ToWorker) => {
    const o = outgoing.get(m.index);
    if (!o) return;
    if (m.t === 'ack') o.inFlight--;
    else if (m.error === null) o.stored.resolve();
    else {
      o.failed = new Error(m.error);
      o.stored.reject(o.failed);
    }
    o.wake?.();
  });

  const put = async (index: number, content: Readable): Promise<void> => {
    if (!task.keepAttachments) {
      for await (const chunk of content) void chunk;
      return;
    }
    const stored = new Promise<void>((resolve, reject) => {
      outgoing.set(index, { inFlight: 0, wake: null, failed: null, stored: { resolve, reject } });
    });
    stored.catch(() => undefined);
    const o = outgoing.get(index)!;
    send({ t: 'open', index });
    try {
      for await (const chunk of content as AsyncIterable<Buffer>) {
        while (o.inFlight >= CHUNK_WINDOW && !o.failed) await new Promise<void>((r) => (o.wake = r));
        if (o.failed) throw o.failed;
        o.inFlight++;
        // A copy of exactly this chunk, moved (not copied again) to the main thread.
        const copy = new Uint8Array(chunk);
        send({ t: 'chunk', index, chunk: copy }, [copy.buffer as ArrayBuffer]);
      }
      send({ t: 'end', index });
    } catch (err) {
      send({ t: 'fail', index, message: (err as Error).message || String(err) });
      throw err;
    }
    await stored;
  };

  const parse = async (raw: Readable): Promise<ParseOutcome> => {
    const outcome = await parseMessage(raw, put);
    if (!task.keepBodies) outcome.parsed = { ...outcome.parsed, text: '', html: '' };
    return outcome;
  };
  try {
    if (task.json) send({ t: 'json', result: await parseJson(task.json.bytes, task.json.member, parse) });
    else if (task.path && task.auth) {
      // One read of the spool file for both: no second stream of a 55 MB message, no second isolate's garbage.
      const [forParse, forAuth] = tee(createReadStream(task.path), 2);
      void checkAuth(task, forAuth!.stream, forAuth!.drop);
      try {
        send({ t: 'done', outcome: await parse(forParse!.stream) });
      } finally {
        forParse!.drop();
      }
    } else {
      if (task.auth) void checkAuth(task, Buffer.from(task.raw!.buffer, task.raw!.byteOffset, task.raw!.byteLength), () => {});
      const raw = task.path ? createReadStream(task.path) : Readable.from([Buffer.from(task.raw!)], { objectMode: false });
      send({ t: 'done', outcome: await parse(raw) });
    }
  } catch (err) {
    send({ t: 'error', message: (err as Error).message || String(err) });
  }
}

/**
 * Decodes a JSON document (as a Request's json() would: UTF-8, a BOM dropped, bad bytes replaced)
 * and parses its member `member` if that is a string. 8 MB of it is ~20–130 ms of decoding and
 * JSON.parse, more under load: here rather than on the event loop.
 */
async function parseJson(bytes: Uint8Array, member: string, parse: (raw: Readable) => Promise<ParseOutcome>): Promise<JsonOutcome> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: true, value, outcome: null };
  const { [member]: message, ...rest } = value as Record<string, unknown>;
  if (typeof message !== 'string') return { ok: true, value, outcome: null };
  return { ok: true, value: rest, outcome: await parse(Readable.from([Buffer.from(message, 'utf8')], { objectMode: false })) };
}

parentPort!.on('message', (task: ParseTask) => {
  void run(task).finally(() => parentPort!.postMessage('idle'));
});
parentPort!.postMessage('ready');
