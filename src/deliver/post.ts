import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { assertWebhookUrl, ForbiddenAddressError, guardedLookup } from '../net/url-guard.js';
import { signatureHeaders } from './sign.js';

/** What one attempt produced; written as-is to delivery_attempts. */
export interface AttemptResult {
  /** The receiver's status, null when none arrived (refused, timed out, DNS, TLS...). */
  statusCode: number | null;
  latencyMs: number;
  /** The first MAX_RESPONSE_BYTES of the response body. */
  body: string;
  error: string | null;
  /** The raw Retry-After header, for the schedule to interpret. */
  retryAfter: string | null;
  /** Why the destination was refused (what its name resolved to): for the server log, never the user. */
  detail: string | null;
}

export interface PostInput {
  url: string;
  secret: string;
  /** The webhook-id: the delivery id, the same on every attempt. */
  id: string;
  /** Exactly the bytes sent, and signed. */
  body: string | Buffer;
  /** Default application/json. */
  contentType?: string;
  /** More headers (x-mailhook-* metadata of a raw POST); they cannot replace the signature headers. */
  headers?: Record<string, string>;
  /** deps.now() at send time; the webhook-timestamp is derived from it. */
  now: number;
  timeoutMs: number;
  /** ALLOW_INSECURE_WEBHOOKS: http:// and private addresses allowed (tests, local setups). */
  allowInsecure: boolean;
}

/** DESIGN §6 logs the first 1 KiB; reading more would let a receiver make us buffer anything. */
export const MAX_RESPONSE_BYTES = 1024;
export const USER_AGENT = 'Mailhook/0.1 (+https://github.com/mailhook/mailhook)';

// Separate pools so a socket opened without the address guard is never reused with it.
const agents = {
  guarded: { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) },
  open: { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) },
};

/**
 * Sends one signed POST and reports what happened. Never throws and never follows a redirect
 * (a 3xx is a failed attempt: following one would let a public URL bounce us to a private
 * one). `timeoutMs` bounds the whole attempt: DNS, connect, TLS, headers and the body read.
 */
export function postWebhook(input: PostInput): Promise<AttemptResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    let statusCode: number | null = null;
    let retryAfter: string | null = null;
    let location: string | null = null;
    const chunks: Buffer[] = [];
    let received = 0;
    let req: http.ClientRequest | undefined;
    let settled = false;

    const finish = (error: string | null, destroy: boolean, detail: string | null = null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (destroy) req?.destroy();
      const redirect = statusCode !== null && statusCode >= 300 && statusCode < 400;
      resolve({
        statusCode,
        latencyMs: Math.round(performance.now() - started),
        body: Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES).toString('utf8'),
        error: error ?? (redirect ? `redirect to ${location ?? '(no Location)'} not followed` : null),
        retryAfter,
        detail,
      });
    };

    const timer = setTimeout(() => finish(`timed out after ${input.timeoutMs} ms`, true), input.timeoutMs);

    let url: URL;
    try {
      assertWebhookUrl(input.url, { allowInsecure: input.allowInsecure });
      url = new URL(input.url);
    } catch (err) {
      finish((err as Error).message, false);
      return;
    }
    const secure = url.protocol === 'https:';
    const pool = input.allowInsecure ? agents.open : agents.guarded;
    const payload = typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : input.body;
    try {
      req = (secure ? https : http).request(url, {
        method: 'POST',
        agent: secure ? pool.https : pool.http,
        lookup: input.allowInsecure ? undefined : guardedLookup,
        headers: {
          ...input.headers,
          'content-type': input.contentType ?? 'application/json',
          'content-length': String(payload.length),
          'user-agent': USER_AGENT,
          ...signatureHeaders(input.secret, input.id, Math.floor(input.now / 1000), payload),
        },
      });
    } catch (err) {
      finish((err as Error).message, false);
      return;
    }
    req.on('error', (err) => finish(describe(err), true, err instanceof ForbiddenAddressError ? err.detail : null));
    req.on('response', (res) => {
      statusCode = res.statusCode ?? null;
      retryAfter = res.headers['retry-after'] ?? null;
      location = res.headers.location ?? null;
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        // Enough for the log: hang up rather than read a receiver's endless body.
        if (received >= MAX_RESPONSE_BYTES) finish(null, true);
      });
      res.on('end', () => finish(null, false));
      res.on('error', (err) => finish(describe(err), true));
      res.on('close', () => finish('connection closed before the response ended', true));
    });
    req.end(payload);
  });
}

/** Connecting to several addresses (happy eyeballs) fails with an AggregateError without a message. */
function describe(err: NodeJS.ErrnoException): string {
  return err.message || err.code || String(err);
}
