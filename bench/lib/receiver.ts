import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { seqOfWebhook } from './messages.js';

export interface ReceiverOptions {
  /** Answer 200 after this many ms (0: at once). */
  delayMs?: number;
  /** Never answer: the sender's timeout ends each request. */
  hang?: boolean;
  /** Keep each body (big mail: the payload's links). */
  keepBodies?: boolean;
  /** What makes a webhook distinct: the bench message it is about (default) or its webhook-id (fan-out). */
  key?: 'seq' | 'webhook-id';
}

/** A webhook receiver on 127.0.0.1 that counts distinct bench messages and when each first arrived. */
export interface Receiver {
  url: string;
  /** Requests received, duplicates included. */
  requests(): number;
  /** performance.now() of the first webhook for each message seq (or webhook-id), in arrival order. */
  firstAt: Map<number | string, number>;
  bodies: string[];
  /** Resolves once `n` distinct messages arrived, or false after `timeoutMs`. */
  waitFor(n: number, timeoutMs: number): Promise<boolean>;
  /** Requests open right now (hang mode). */
  open(): number;
  /** The most requests open at once so far, and performance.now() when that many were first open. */
  peak(): { open: number; at: number };
  close(): Promise<void>;
}

export async function startReceiver(o: ReceiverOptions = {}): Promise<Receiver> {
  const firstAt = new Map<number | string, number>();
  const bodies: string[] = [];
  let requests = 0;
  let open = 0;
  let peak = { open: 0, at: 0 };
  let waiter: { n: number; resolve: (ok: boolean) => void } | null = null;
  const sockets = new Set<Socket>();

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    if (++open > peak.open) peak = { open, at: performance.now() };
    res.on('close', () => open--);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      requests++;
      const body = Buffer.concat(chunks).toString('utf8');
      if (o.keepBodies) bodies.push(body);
      const key = o.key === 'webhook-id' ? String(req.headers['webhook-id'] ?? '') : seqOfWebhook(body);
      if (key !== '' && key !== -1 && !firstAt.has(key)) {
        firstAt.set(key, at);
        if (waiter && firstAt.size >= waiter.n) {
          waiter.resolve(true);
          waiter = null;
        }
      }
      if (o.hang) return;
      const answer = () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      if (o.delayMs) setTimeout(answer, o.delayMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.requestTimeout = 0;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests: () => requests,
    firstAt,
    bodies,
    open: () => open,
    peak: () => peak,
    waitFor(n, timeoutMs) {
      if (firstAt.size >= n) return Promise.resolve(true);
      return new Promise((resolve) => {
        const t = setTimeout(() => {
          waiter = null;
          resolve(false);
        }, timeoutMs);
        waiter = {
          n,
          resolve: (ok) => {
            clearTimeout(t);
            resolve(ok);
          },
        };
      });
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}
