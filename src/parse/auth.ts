import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import type { ARCData, DKIMResult, DKIMVerifyResult, DNSResolver } from 'mailauth';
import { dkimVerifyUnsigned } from './dkim-unsigned.js';
import type { AuthResults } from './types.js';

/** mailauth's resolver contract: node's dns.promises.resolve(name, rrtype), errors with `code`. */
export type AuthResolver = ((name: string, rrtype: string) => Promise<unknown>) & {
  /** With DNS_CACHE_SECONDS: the SPF and DMARC verdicts made from its answers (see Verdicts). */
  verdicts?: Verdicts;
};

/**
 * SPF and DMARC verdicts of a caching resolver (issue 14): mailauth's `spf()` and `dmarc()` are a
 * function of their inputs and the DNS answers they read, and with the answers kept, a sender's
 * next message made the same lookups from the cache and came to the same verdict, ~6 % of the
 * event loop in the ingest bench. A verdict is kept by all of its inputs (SPF: sender, IP, HELO,
 * our host name; DMARC: the From domains and the SPF and DKIM domains that passed) and only
 * until the first of the answers it was made from expires, so it is never older than they are;
 * `temperror` (a lookup that failed or ran out of time, never kept) is never kept either.
 */
export interface Verdicts {
  get(key: string): unknown;
  /** `value`, made from the answers `lookups` looked up; kept until the first of them expires. */
  set(key: string, value: unknown, lookups: [name: string, rrtype: string][]): void;
}

export interface AuthEnvelope {
  remoteIp: string;
  helo: string;
  /** MAIL FROM; '' for the null sender of bounces (SPF then checks postmaster@HELO). */
  mailFrom: string;
}

export interface AuthOptions {
  resolver: AuthResolver;
  /** Our host name, as it appears in Received-SPF comments. */
  mta: string;
  /** Hard bound on the whole check: it runs before the reply to DATA. */
  timeoutMs: number;
}

const dnsTimeout = () => Object.assign(new Error('DNS lookup timed out'), { code: 'ETIMEOUT' });

export interface AuthResolverOptions {
  /**
   * DNS_CACHE_SECONDS: how long an answer (records, or NXDOMAIN/NODATA) is reused; 0 asks every time.
   * Errors and timeouts are never kept.
   */
  cacheSeconds?: number;
  /** Answers kept at most (the oldest go first). */
  cacheEntries?: number;
  /** The clock, in ms (tests). */
  now?: () => number;
}

/** Node's codes for NXDOMAIN and NODATA: answers about the name, kept like records. */
const NEGATIVE = new Set(['ENOTFOUND', 'ENODATA']);

type Answer = { ok: true; value: unknown } | { ok: false; code: string; message: string; hostname: string; syscall: string };

/** A copy per caller: mailauth may change what it is given (arrays of TXT strings, MX objects). */
function fromAnswer(a: Answer): Promise<unknown> {
  if (!a.ok) return Promise.reject(Object.assign(new Error(a.message), { code: a.code, hostname: a.hostname, syscall: a.syscall }));
  const v = a.value;
  return Promise.resolve(
    Array.isArray(v) ? v.map((x: unknown) => (Array.isArray(x) ? [...(x as unknown[])] : x && typeof x === 'object' ? { ...x } : x)) : v,
  );
}

/**
 * A resolver for mailauth asking `servers` (DNS_SERVERS: "ip" or "ip:port") or the system's.
 * c-ares doubles its timeout on the retry, so two tries at a third each fit in `timeoutMs`;
 * the race makes that a bound rather than an estimate.
 *
 * With `cacheSeconds`, it is also what an MTA's local caching resolver is: an answer per (name,
 * rrtype) is reused for that long (capped there whatever the record's TTL, which node does not
 * report for TXT), identical lookups in flight share one query, and errors and timeouts are
 * never kept. Mail from one sender domain then costs its SPF and DMARC queries once a minute
 * instead of once a message.
 */
export function createAuthResolver(servers: string[], timeoutMs: number, opts: AuthResolverOptions = {}): AuthResolver {
  const resolver = new Resolver({ timeout: Math.max(1, Math.floor(timeoutMs / 3)), tries: 2 });
  if (servers.length > 0) resolver.setServers(servers);
  const ask = (name: string, rrtype: string): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(dnsTimeout()), timeoutMs);
      resolver.resolve(name, rrtype).then(resolve, reject).finally(() => clearTimeout(timer));
    });
  const ttlMs = Math.max(0, opts.cacheSeconds ?? 0) * 1000;
  if (ttlMs === 0) return ask;

  const maxEntries = Math.max(1, opts.cacheEntries ?? 10_000);
  const now = opts.now ?? Date.now;
  const answers = new Map<string, { answer: Answer; until: number }>();
  const inFlight = new Map<string, Promise<Answer>>();
  const keyOf = (name: string, rrtype: string) => `${rrtype} ${name.toLowerCase()}`;
  const kept = new Map<string, { value: unknown; until: number }>();
  const verdicts: Verdicts = {
    get(key) {
      const v = kept.get(key);
      if (v && v.until > now()) return v.value;
      if (v) kept.delete(key);
      return undefined;
    },
    set(key, value, lookups) {
      let until = now() + ttlMs;
      for (const [name, rrtype] of lookups) until = Math.min(until, answers.get(keyOf(name, rrtype))?.until ?? 0);
      if (until <= now()) return;
      kept.delete(key);
      kept.set(key, { value, until });
      if (kept.size > maxEntries) kept.delete(kept.keys().next().value!);
    },
  };
  const cached: AuthResolver = (name, rrtype) => {
    const key = keyOf(name, rrtype);
    const kept = answers.get(key);
    if (kept) {
      if (kept.until > now()) return fromAnswer(kept.answer);
      answers.delete(key);
    }
    let pending = inFlight.get(key);
    if (!pending) {
      pending = ask(name, rrtype).then(
        (value): Answer => ({ ok: true, value }),
        (err: NodeJS.ErrnoException): Answer => {
          if (!NEGATIVE.has(err?.code ?? '')) throw err;
          return { ok: false, code: err.code!, message: err.message, hostname: (err as { hostname?: string }).hostname ?? name, syscall: err.syscall ?? 'query' };
        },
      );
      inFlight.set(key, pending);
      const settled = pending;
      settled.then(
        (answer) => {
          inFlight.delete(key);
          answers.delete(key); // re-inserted last: the Map's order is the eviction order
          answers.set(key, { answer, until: now() + ttlMs });
          if (answers.size > maxEntries) answers.delete(answers.keys().next().value!);
        },
        () => inFlight.delete(key),
      );
    }
    return pending.then(fromAnswer);
  };
  cached.verdicts = verdicts;
  return cached;
}

/**
 * Several DKIM signatures: any pass is a pass (RFC 6376 §6.1: a verifier may stop at the first
 * good one); otherwise the most telling failure.
 *
 * A body that no longer matches its signature's bh= is reported as `fail`, where mailauth (like
 * Gmail) says `neutral`: RFC 6376 §6.1.3 makes it a verification failure (PERMFAIL), and RFC 8601
 * §2.7.1 keeps `neutral` for signatures that could not be processed. Receivers filtering on
 * dkim=fail expect a tampered message to show up there.
 */
function dkimSummary(results: DKIMResult[]): string {
  const statuses = results.map((r) =>
    r.status.result === 'neutral' && r.status.comment === 'body hash did not verify' ? 'fail' : r.status.result,
  );
  const rank = ['pass', 'fail', 'temperror', 'permerror', 'policy', 'neutral', 'none'];
  const known = statuses.filter((s) => rank.includes(s)).sort((a, b) => rank.indexOf(a) - rank.indexOf(b));
  return known[0] ?? statuses[0] ?? 'none';
}

/** Read ahead for a stream's header block at most this far; a longer one takes the full run. */
const HEAD_PEEK_BYTES = 1024 * 1024;

/** The end of the first blank line (LF CRLF or LF LF) in `buf`, or -1. */
function blankLineEnd(buf: Buffer): number {
  const crlf = buf.indexOf('\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf < 0) return lf < 0 ? -1 : lf + 2;
  return lf >= 0 && lf < crlf ? lf + 2 : crlf + 3;
}

/**
 * dkimVerify of a stream: its header block read first, and when that settles it (no signature
 * or seal to check, dkim-unsigned.ts) the body is never read; otherwise the verifier gets the
 * whole stream, the chunks already read first.
 */
async function dkimVerifyStream(raw: Readable, resolver: DNSResolver, dkimVerify: Mailauth['dkimVerify']): Promise<DKIMVerifyResult> {
  const it = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let size = 0;
  let ended = false;
  while (size < HEAD_PEEK_BYTES) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    chunks.push(r.value);
    size += r.value.length;
    const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    const end = blankLineEnd(buf);
    if (end < 0) continue;
    const unsigned = await dkimVerifyUnsigned(buf.subarray(0, end), resolver);
    if (unsigned) {
      await it.return?.();
      return unsigned;
    }
    break;
  }
  const whole = Readable.from(
    (async function* () {
      yield* chunks;
      if (ended) return;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    })(),
    { objectMode: false },
  );
  return dkimVerify(whole, { resolver });
}

/**
 * The header block that computeAuth of a stream starting with `start` hands dkimVerifyUnsigned
 * (up to its first blank line), when `start` holds it whole; else null.
 */
export function headerBlockOf(start: Buffer): Buffer | null {
  const end = blankLineEnd(start.subarray(0, HEAD_PEEK_BYTES));
  return end < 0 ? null : start.subarray(0, end);
}

/**
 * Whether `headerBlock` (headerBlockOf's) settles DKIM without the body: no DKIM-Signature, ARC
 * seal or chain whose body hash would need it (dkim-unsigned.ts). Then computeAuth(headerBlock)
 * gives the very results computeAuth gives for the whole message, stream or buffer: both decide
 * DKIM from these same bytes, SPF from the envelope, DMARC and ARC from the DKIM result. Looks
 * up nothing in DNS (no signature is verified when there is no body hash).
 */
export async function settledByHeaderBlock(headerBlock: Buffer): Promise<boolean> {
  const noLookups: DNSResolver = () => Promise.reject(Object.assign(new Error('no lookups here'), { code: 'ESERVFAIL' }));
  return (await dkimVerifyUnsigned(headerBlock, noLookups)) !== undefined;
}

type Done = Partial<Record<keyof AuthResults, string>>;
type Mailauth = typeof import('mailauth');

// mailauth and what it pulls in (public suffix list, punycode, …) are ~18 MB of a process's memory:
// loaded on the first message that is checked, not at start-up, nor ever with AUTH_CHECKS=false.
let mailauth: Promise<Mailauth> | undefined;
/** Loads mailauth (once per thread); computeAuth's clock starts once it is loaded. */
export const loadMailauth = () => (mailauth ??= import('mailauth'));

/**
 * `run(resolver)`, or its verdict kept in `verdicts` under `key`: what `run` resolves to is kept
 * (unless `keep` refuses it) until the first of the answers it looked up expires.
 */
async function remembered<T>(verdicts: Verdicts | undefined, key: string, resolver: DNSResolver, keep: (v: T) => boolean, run: (r: DNSResolver) => Promise<T>): Promise<T> {
  if (!verdicts) return run(resolver);
  const hit = verdicts.get(key);
  if (hit !== undefined) return hit as T;
  const lookups: [string, string][] = [];
  const value = await run((name, rrtype) => {
    lookups.push([name, rrtype]);
    return resolver(name, rrtype);
  });
  if (keep(value)) verdicts.set(key, value, lookups);
  return value;
}

/** What runChecks reads of mailauth's SPF result. */
type SpfVerdict = { status: { result: string }; domain: string };

async function runChecks(lib: Mailauth, raw: Readable | Buffer, env: AuthEnvelope, mta: string, resolver: DNSResolver, done: Done, verdicts?: Verdicts) {
  const { arc, dkimVerify, dmarc, spf } = lib;
  // Same conventions as mailauth's authenticate(): an IP literal HELO is bracketed.
  const helo = env.helo && isIP(env.helo) ? `[${env.helo}]` : env.helo || (env.remoteIp ? `[${env.remoteIp}]` : '');
  const spfKey = JSON.stringify(['spf', env.mailFrom, env.remoteIp, helo, mta]);
  const spfRun = remembered<SpfVerdict>(verdicts, spfKey, resolver, (r) => r.status.result !== 'temperror', async (lookup) => {
    const r = await spf({ sender: env.mailFrom || undefined, ip: env.remoteIp, helo, mta, resolver: lookup });
    return { status: { result: r.status.result }, domain: r.domain };
  }).then((r) => {
    done.spf = r.status.result;
    return r;
  });
  // Unsigned mail: the same answer from its header block alone (src/parse/dkim-unsigned.ts); a
  // stream's body is then never read by the verifier.
  const dkimRun = (Buffer.isBuffer(raw) ? dkimVerifyUnsigned(raw, resolver).then((r) => r ?? dkimVerify(raw, { resolver })) : dkimVerifyStream(raw, resolver, dkimVerify))
    .then((r) => {
      done.dkim = dkimSummary(r.results);
      return r;
    });
  const [spfResult, dkimResult] = await Promise.allSettled([spfRun, dkimRun]);
  if (dkimResult.status === 'rejected') return; // unreadable message: DMARC and ARC stay temperror
  const dkimData: DKIMVerifyResult = dkimResult.value;

  // authenticate() hands arc() this same object; the .d.ts only disagrees on `chain: false`.
  const arcRun = dkimData.arc
    ? arc(dkimData.arc as ARCData, { resolver }).then((r) => void (done.arc = r.status.result))
    : Promise.resolve(void (done.arc = 'none'));
  const passedSpf = spfResult.status === 'fulfilled' && spfResult.value.status.result === 'pass' ? [spfResult.value.domain] : [];
  const dmarcRun = (async () => {
    if (dkimData.headerFrom.length === 0) return void (done.dmarc = 'none');
    const input = {
      headerFrom: dkimData.headerFrom,
      spfDomains: passedSpf,
      dkimDomains: dkimData.results
        .filter((r) => r.status.result === 'pass')
        .map((r) => ({ id: r.id, domain: r.signingDomain, aligned: r.status.aligned, underSized: r.status.underSized })),
    };
    const key = JSON.stringify(['dmarc', input]);
    // mailauth answers false for several From addresses: no single policy applies (RFC 7489 §6.6.1).
    done.dmarc = await remembered(verdicts, key, resolver, (v) => v !== 'temperror', async (lookup) => {
      const r = await dmarc({ ...input, resolver: lookup });
      return r ? r.status.result : 'permerror';
    });
  })();
  await Promise.allSettled([arcRun, dmarcRun]);
}

const threadResolvers = new Map<string, AuthResolver>();

/** This thread's resolver for these settings: one per thread and settings, so the checks it runs share its cache. */
export function threadResolver(servers: string[], dnsTimeoutMs: number, cacheSeconds: number): AuthResolver {
  const key = `${servers.join(',')}|${dnsTimeoutMs}|${cacheSeconds}`;
  let resolver = threadResolvers.get(key);
  if (!resolver) threadResolvers.set(key, (resolver = createAuthResolver(servers, dnsTimeoutMs, { cacheSeconds })));
  return resolver;
}

/**
 * SPF, DKIM, DMARC and ARC for one message (DESIGN §2). Never throws and never takes longer than
 * `timeoutMs`: a check still running then is `temperror`, and every DNS lookup still pending
 * fails at once so the work behind it winds down instead of lingering.
 */
export async function computeAuth(raw: Readable | Buffer, env: AuthEnvelope, opts: AuthOptions): Promise<AuthResults> {
  const done: Done = {};
  // Lookups still pending at the deadline fail then. (A plain set, not an AbortController: its
  // abort() builds a DOMException with a stack trace, ~1 % of the event loop under load.)
  let over = false;
  const pending = new Set<() => void>();
  const resolver: DNSResolver = (name, rrtype) =>
    new Promise((resolve, reject) => {
      if (over) return reject(dnsTimeout());
      const onDeadline = () => reject(dnsTimeout());
      pending.add(onDeadline);
      Promise.resolve()
        .then(() => opts.resolver(name, rrtype))
        .then((v) => resolve(v as string[][] | string[]), reject)
        .finally(() => pending.delete(onDeadline));
    });

  // Loaded before the clock starts: the first message's checks get their whole time.
  const lib = await loadMailauth();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, opts.timeoutMs)));
  try {
    await Promise.race([runChecks(lib, raw, env, opts.mta, resolver, done, opts.resolver.verdicts).catch(() => {}), expired]);
  } finally {
    clearTimeout(timer);
    over = true;
    for (const fail of pending) fail();
  }
  const result = (k: keyof AuthResults) => done[k] ?? 'temperror';
  return { spf: result('spf'), dkim: result('dkim'), dmarc: result('dmarc'), arc: result('arc') };
}
