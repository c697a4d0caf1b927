import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the receiver does with one request. Defaults: 200, empty body, at once. */
export interface Behaviour {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Answer after this many ms. */
  delayMs?: number;
  /** Never answer; the socket stays open until the client gives up or close() is called. */
  hang?: boolean;
  /** Stream this many bytes of body (in 16 KiB chunks) after the headers, as fast as the client reads. */
  streamBytes?: number;
}

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body's exact bytes. */
  raw: Buffer;
  /** Date.now() when the body was complete. */
  at: number;
  /** Bytes of response body written before the client hung up or the response ended. */
  bytesSent: number;
  /** Resolves when the response closed (finished, or the client hung up). */
  closed: Promise<void>;
  /** Date.now() when it closed; null while the request is still open. */
  closedAt: number | null;
  /** The status answered; null while unanswered (delay, hang). */
  status: number | null;
}

export interface WebhookReceiver {
  url: string;
  requests: ReceivedRequest[];
  /** Behaviours for the next requests, one each, in order; after them, the default. */
  next(...b: Behaviour[]): void;
  /** After the queued ones: this behaviour, or this function of the request (and its 0-based index in `requests`). */
  setDefault(b: Behaviour | ((index: number, req: ReceivedRequest) => Behaviour)): void;
  /** Resolves with the requests once there are at least `n`; rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1, port 0, whose answers the test flips per request. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const requests: ReceivedRequest[] = [];
  const queue: Behaviour[] = [];
  let fallback: Behaviour | ((index: number, req: ReceivedRequest) => Behaviour) = {};
  const waiters: { n: number; resolve: () => void }[] = [];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let onClosed = () => {};
      const record: ReceivedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        raw: Buffer.concat(chunks),
        at: Date.now(),
        bytesSent: 0,
        closed: new Promise<void>((resolve) => (onClosed = resolve)),
        closedAt: null,
        status: null,
      };
      const b = queue.shift() ?? (typeof fallback === 'function' ? fallback(requests.length, record) : fallback);
      res.on('close', () => {
        record.closedAt = Date.now();
        onClosed();
      });
      requests.push(record);
      for (const w of [...waiters]) {
        if (requests.length >= w.n) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
      if (b.hang) return;
      const answer = () => respond(res, b, record);
      if (b.delayMs) setTimeout(answer, b.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    next: (...b) => void queue.push(...b),
    setDefault: (b) => void (fallback = b),
    waitFor(n, timeoutMs = 5000) {
      if (requests.length >= n) return Promise.resolve(requests);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`webhook receiver: ${requests.length} of ${n} requests after ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve(requests);
          },
        });
      });
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function respond(res: ServerResponse, b: Behaviour, record: ReceivedRequest): void {
  if (res.destroyed) return;
  res.writeHead(b.status ?? 200, { 'content-type': 'text/plain', ...b.headers });
  record.status = b.status ?? 200;
  if (!b.streamBytes) {
    res.end(b.body ?? '');
    record.bytesSent = Buffer.byteLength(b.body ?? '');
    return;
  }
  const chunk = Buffer.alloc(16 * 1024, 'x');
  const pump = () => {
    while (!res.destroyed && record.bytesSent < b.streamBytes!) {
      record.bytesSent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    if (!res.destroyed) res.end();
  };
  pump();
}
