import { open } from 'node:fs/promises';
import type { Deps } from '../deps.js';
import { cheapToCheck } from '../parse/auth-cost.js';
import { authOffThread } from '../parse/auth-pool.js';
import { computeAuth, createAuthResolver, headerBlockOf, settledByHeaderBlock } from '../parse/auth.js';
import type { Envelope } from '../parse/types.js';
import { PARSE_OFF_THREAD_BYTES, type AuthCheck, type InboundMessage } from './accept.js';

const DNS_TIMEOUT_MS = 2000;
/** Bounded: a sender's slow DNS may delay its own 250 by this much, never more. */
const AUTH_TIMEOUT_MS = 5000;

/** The first `bytes` of a message (fewer if it is shorter); null if its spool file cannot be read. */
async function startOf(raw: InboundMessage['raw'], bytes: number): Promise<Buffer | null> {
  if (raw.buffer) return raw.buffer.subarray(0, bytes);
  if (!raw.path) return null;
  try {
    const file = await open(raw.path, 'r');
    try {
      const buf = Buffer.alloc(bytes);
      const { bytesRead } = await file.read(buf, 0, bytes, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  } catch {
    return null;
  }
}

/**
 * SPF/DKIM/DMARC/ARC for each message, or undefined when AUTH_CHECKS=false: ordinary mail on the
 * event loop; a message parsed on a parse thread (over PARSE_OFF_THREAD_BYTES) on the event loop
 * too when it is unsigned (`fromHeaderBlock`: its header block is all the checks read), else on
 * that thread, on the same read of it (`onParseThread`); anything else whose checks could hold
 * the loop (many headers or signatures) on the auth thread (src/parse/auth-cost.ts says which,
 * src/parse/auth-pool.ts runs them).
 */
export function authCheck(deps: Deps): AuthCheck | undefined {
  if (!deps.config.authChecks) return undefined;
  const resolver = createAuthResolver(deps.config.dnsServers, DNS_TIMEOUT_MS, { cacheSeconds: deps.config.dnsCacheSeconds });
  const mta = deps.config.mxHost;
  const opts = { servers: deps.config.dnsServers, dnsTimeoutMs: DNS_TIMEOUT_MS, dnsCacheSeconds: deps.config.dnsCacheSeconds, mta, timeoutMs: AUTH_TIMEOUT_MS };
  const envOf = (envelope: Envelope) => ({ remoteIp: envelope.remoteIp, helo: envelope.helo, mailFrom: envelope.mailFrom });
  const check: AuthCheck = (raw, envelope) => {
    const env = envOf(envelope);
    if (raw.buffer && !raw.path && cheapToCheck(raw.buffer, PARSE_OFF_THREAD_BYTES)) {
      return computeAuth(raw.buffer, env, { resolver, mta, timeoutMs: AUTH_TIMEOUT_MS });
    }
    return authOffThread({ raw: raw.path ? null : raw.buffer, path: raw.path ?? null }, env, opts);
  };
  // A big message whose header block settles DKIM (unsigned: no body hash to compute) is checked
  // here from that block alone, as cheaply as a small message (the same bounds: cheapToCheck), and
  // the parse thread never loads mailauth (~17 MB of its heap: bench/README.md, big mail,
  // session 9). The block is what the thread's computeAuth would decide from: the same results.
  check.fromHeaderBlock = async (raw, envelope) => {
    const start = await startOf(raw, PARSE_OFF_THREAD_BYTES);
    const block = start && headerBlockOf(start);
    if (!block || !cheapToCheck(block, PARSE_OFF_THREAD_BYTES)) return null;
    // A header block mailauth cannot take apart is the parse thread's to find out.
    if (!(await settledByHeaderBlock(block).catch(() => false))) return null;
    return { result: computeAuth(block, envOf(envelope), { resolver, mta, timeoutMs: AUTH_TIMEOUT_MS }) };
  };
  // Any other message parsed on a parse thread (accept.ts) is checked there, on the same read of it.
  check.onParseThread = (envelope) => ({ env: envOf(envelope), ...opts });
  return check;
}
