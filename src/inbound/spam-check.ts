import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import type { Deps } from '../deps.js';
import type { Envelope, SpamVerdict } from '../parse/types.js';

/** Asks the spam filter about one message; never throws, never takes longer than its timeout. */
export type SpamCheck = (raw: Readable, size: number, envelope: Envelope) => Promise<SpamVerdict>;

/** rspamd's answer is small (symbols of one message); anything bigger is not rspamd. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/** The configured filter (SPAM_FILTER=rspamd), or undefined when none is. */
export function spamCheck(deps: Deps): SpamCheck | undefined {
  if (deps.config.spamFilter !== 'rspamd') return undefined;
  const url = new URL('/checkv2', deps.config.rspamdUrl + '/');
  const timeoutMs = deps.config.spamTimeoutMs;
  return (raw, size, envelope) => checkRspamd(url, timeoutMs, raw, size, envelope);
}

/**
 * POST /checkv2 with the message as the body and the envelope in rspamd's request headers
 * (IP, Helo, From, Rcpt), so its SPF and other envelope rules see what we saw. Bounded like the
 * auth checks: a slow or dead filter delays the 250 by at most `timeoutMs`, then the message is
 * accepted `unchecked`.
 */
export function checkRspamd(url: URL, timeoutMs: number, raw: Readable, size: number, envelope: Envelope): Promise<SpamVerdict> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (v: SpamVerdict) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      raw.destroy();
      resolve(v);
    };
    const unchecked = (reason: string) => done({ status: 'unchecked', reason });
    const timer = setTimeout(() => unchecked(`spam filter did not answer within ${timeoutMs} ms`), timeoutMs);
    const headers: http.OutgoingHttpHeaders = { 'content-length': String(size), helo: envelope.helo || 'unknown' };
    // rspamd takes one Rcpt header per recipient; Node sends an array as repeated headers.
    if (envelope.remoteIp) headers.ip = envelope.remoteIp;
    if (envelope.mailFrom) headers.from = envelope.mailFrom;
    if (envelope.rcptTo.length) headers.rcpt = envelope.rcptTo;
    const req = (url.protocol === 'https:' ? https : http).request(url, { method: 'POST', headers });
    req.on('error', (err) => unchecked(`spam filter unreachable: ${err.message || (err as NodeJS.ErrnoException).code}`));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
        if (n > MAX_ANSWER_BYTES) return unchecked('spam filter answer too large');
        chunks.push(c);
      });
      res.on('error', (err) => unchecked(`spam filter answer cut: ${err.message}`));
      res.on('end', () => {
        if (res.statusCode !== 200) return unchecked(`spam filter answered HTTP ${res.statusCode}`);
        done(verdictOf(Buffer.concat(chunks).toString('utf8')));
      });
    });
    raw.on('error', (err) => unchecked(`could not read the message: ${err.message}`));
    raw.pipe(req);
  });
}

/** rspamd's /checkv2 JSON → our verdict; anything else is `unchecked`. */
export function verdictOf(body: string): SpamVerdict {
  let j: unknown;
  try {
    j = JSON.parse(body);
  } catch {
    return { status: 'unchecked', reason: 'spam filter answer is not JSON' };
  }
  const o = (j ?? {}) as { score?: unknown; required_score?: unknown; action?: unknown; symbols?: unknown };
  if (typeof o.score !== 'number' || typeof o.action !== 'string') return { status: 'unchecked', reason: 'spam filter answer has no score' };
  const symbols = Object.values(typeof o.symbols === 'object' && o.symbols ? o.symbols : {})
    .map((s: { name?: unknown; score?: unknown }) => ({ name: String(s.name ?? ''), score: typeof s.score === 'number' ? s.score : 0 }))
    .filter((s) => s.name)
    .sort((a, b) => b.score - a.score || (a.name < b.name ? -1 : 1));
  return {
    status: 'checked',
    score: o.score,
    required: typeof o.required_score === 'number' ? o.required_score : 0,
    action: o.action,
    symbols,
  };
}
