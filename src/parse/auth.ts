import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import type { ARCData, DKIMResult, DKIMVerifyResult, DNSResolver } from 'mailauth';
import type { AuthResults } from './types.js';

/** mailauth's resolver contract: node's dns.promises.resolve(name, rrtype), errors with `code`. */
export type AuthResolver = (name: string, rrtype: string) => Promise<unknown>;

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

/**
 * A resolver for mailauth asking `servers` (DNS_SERVERS: "ip" or "ip:port") or the system's.
 * c-ares doubles its timeout on the retry, so two tries at a third each fit in `timeoutMs`;
 * the race makes that a bound rather than an estimate.
 */
export function createAuthResolver(servers: string[], timeoutMs: number): AuthResolver {
  const resolver = new Resolver({ timeout: Math.max(1, Math.floor(timeoutMs / 3)), tries: 2 });
  if (servers.length > 0) resolver.setServers(servers);
  return (name, rrtype) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(dnsTimeout()), timeoutMs);
      resolver.resolve(name, rrtype).then(resolve, reject).finally(() => clearTimeout(timer));
    });
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

type Done = Partial<Record<keyof AuthResults, string>>;
type Mailauth = typeof import('mailauth');

// mailauth and what it pulls in (public suffix list, punycode, …) are ~18 MB of a process's memory:
// loaded on the first message that is checked, not at start-up, nor ever with AUTH_CHECKS=false.
let mailauth: Promise<Mailauth> | undefined;
const loadMailauth = () => (mailauth ??= import('mailauth'));

async function runChecks(lib: Mailauth, raw: Readable | Buffer, env: AuthEnvelope, mta: string, resolver: DNSResolver, done: Done) {
  const { arc, dkimVerify, dmarc, spf } = lib;
  // Same conventions as mailauth's authenticate(): an IP literal HELO is bracketed.
  const helo = env.helo && isIP(env.helo) ? `[${env.helo}]` : env.helo || (env.remoteIp ? `[${env.remoteIp}]` : '');
  const spfRun = spf({ sender: env.mailFrom || undefined, ip: env.remoteIp, helo, mta, resolver }).then((r) => {
    done.spf = r.status.result;
    return r;
  });
  const dkimRun = dkimVerify(raw, { resolver }).then((r) => {
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
    const r = await dmarc({
      headerFrom: dkimData.headerFrom,
      spfDomains: passedSpf,
      dkimDomains: dkimData.results
        .filter((r) => r.status.result === 'pass')
        .map((r) => ({ id: r.id, domain: r.signingDomain, aligned: r.status.aligned, underSized: r.status.underSized })),
      resolver,
    });
    // mailauth answers false for several From addresses: no single policy applies (RFC 7489 §6.6.1).
    done.dmarc = r ? r.status.result : 'permerror';
  })();
  await Promise.allSettled([arcRun, dmarcRun]);
}

/**
 * SPF, DKIM, DMARC and ARC for one message (DESIGN §2). Never throws and never takes longer than
 * `timeoutMs`: a check still running then is `temperror`, and every DNS lookup still pending
 * fails at once so the work behind it winds down instead of lingering.
 */
export async function computeAuth(raw: Readable | Buffer, env: AuthEnvelope, opts: AuthOptions): Promise<AuthResults> {
  const done: Done = {};
  const deadline = new AbortController();
  const resolver: DNSResolver = (name, rrtype) =>
    new Promise((resolve, reject) => {
      if (deadline.signal.aborted) return reject(dnsTimeout());
      const onAbort = () => reject(dnsTimeout());
      deadline.signal.addEventListener('abort', onAbort, { once: true });
      Promise.resolve()
        .then(() => opts.resolver(name, rrtype))
        .then((v) => resolve(v as string[][] | string[]), reject)
        .finally(() => deadline.signal.removeEventListener('abort', onAbort));
    });

  // Loaded before the clock starts: the first message's checks get their whole time.
  const lib = await loadMailauth();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, opts.timeoutMs)));
  try {
    await Promise.race([runChecks(lib, raw, env, opts.mta, resolver, done).catch(() => {}), expired]);
  } finally {
    clearTimeout(timer);
    deadline.abort();
  }
  const result = (k: keyof AuthResults) => done[k] ?? 'temperror';
  return { spf: result('spf'), dkim: result('dkim'), dmarc: result('dmarc'), arc: result('arc') };
}
