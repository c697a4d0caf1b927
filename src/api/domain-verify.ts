import { createRoute } from '@hono/zod-openapi';
import type { Domain } from '../db/domains.js';
import type { Deps } from '../deps.js';
import { createResolver, type DnsResolver } from '../dns/resolver.js';
import { HttpError } from '../errors.js';
import { dkimRecordName, dkimRecordValue, ensureDkimKey } from '../send/dkim-key.js';
import { DomainSchema, domainJson, spfValue, txtName, txtValue, type LastCheck, type RecordCheck } from './domain-json.js';
import { ownDomain, requireScope } from './guard.js';
import { bearer, errors, IdParam, json, router } from './openapi.js';
import { isUniqueViolation } from '../db/repository.js';

/** "No such name" and "no record of that type" are answers (nothing found), not failures. */
const NO_RECORD = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN', 'ENONAME']);

async function lookup(fn: () => Promise<string[]>): Promise<{ found: string[]; error: string | null }> {
  try {
    return { found: await fn(), error: null };
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    return { found: [], error: NO_RECORD.has(code) ? null : `DNS lookup failed: ${code || (err as Error).message}` };
  }
}

const hostOf = (name: string) => name.toLowerCase().replace(/\.$/, '');

/** The p= tag of a DKIM record, whitespace removed (RFC 6376 §3.6.1 allows folding inside it). */
const dkimP = (value: string) => /(?:^|;)\s*p=([^;]*)/.exec(value)?.[1]?.replace(/\s+/g, '') ?? null;

/**
 * TXT at _mailhook.<name> must hold the token and MX at <name> must include MX_HOST: those two
 * decide `ok` (ownership, receiving). The DKIM record (same public key) decides whether the domain
 * can send; SPF is reported (any v=spf1 record naming MX_HOST) but not required, since the owner
 * may authorise us another way (include:, ip4:).
 */
export async function checkDomain(resolver: DnsResolver, mxHost: string, d: Domain, now: number): Promise<LastCheck> {
  // A TXT record may be split into several strings (RFC 7208 §3.3 style): they are one value.
  const txtOf = async (name: string) => (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
  const txt = { type: 'TXT' as const, name: txtName(d.name), expected: txtValue(d.verificationToken), purpose: 'ownership' as const };
  const mx = { type: 'MX' as const, name: d.name, expected: hostOf(mxHost), purpose: 'mx' as const };
  const spf = { type: 'TXT' as const, name: d.name, expected: spfValue(mxHost), purpose: 'spf' as const };
  const dkim = d.dkim
    ? { type: 'TXT' as const, name: dkimRecordName(d.name, d.dkim.selector), expected: dkimRecordValue(d.dkim.publicKey), purpose: 'dkim' as const }
    : null;
  const [txtFound, mxFound, spfFound, dkimFound] = await Promise.all([
    lookup(() => txtOf(txt.name)),
    lookup(async () => (await resolver.resolveMx(mx.name)).map((r) => hostOf(r.exchange))),
    lookup(async () => (await txtOf(spf.name)).filter((v) => /^v=spf1(\s|$)/i.test(v))),
    dkim ? lookup(() => txtOf(dkim.name)) : Promise.resolve({ found: [], error: null }),
  ]);
  const records: RecordCheck[] = [
    { ...txt, ...txtFound, ok: txtFound.found.includes(txt.expected) },
    { ...mx, ...mxFound, ok: mxFound.found.includes(mx.expected) },
  ];
  const ok = records.every((r) => r.ok);
  if (dkim && d.dkim) records.push({ ...dkim, ...dkimFound, ok: dkimFound.found.some((v) => dkimP(v) === d.dkim!.publicKey) });
  const spfHost = new RegExp(`(^|\\s)[+]?(a|mx|include):${hostOf(mxHost).replace(/[.]/g, '\\.')}(\\s|$)`, 'i');
  records.push({ ...spf, ...spfFound, ok: spfFound.found.some((v) => spfHost.test(v)) });
  return { checked_at: now, ok, records };
}

const verify = createRoute({
  method: 'post',
  path: '/{id}/verify',
  tags: ['domains'],
  security: bearer,
  middleware: [requireScope('domains:write')] as const,
  request: { params: IdParam },
  responses: {
    200: json(DomainSchema, 'Checked: `last_check` has the per-record result; `status` is verified when both are ok'),
    ...errors(401, 403, 404, 409),
  },
});

/**
 * POST /api/domains/:id/verify. A failed re-check of a verified domain records the failure but
 * keeps it verified: a DNS hiccup must not start refusing its mail.
 */
export function domainVerifyRoutes(deps: Deps) {
  const r = router();
  const resolver = createResolver(deps.config.dnsServers);
  r.openapi(verify, async (c) => {
    const auth = c.get('auth');
    const domain = await ensureDkimKey(deps, await ownDomain(deps, auth, c.req.valid('param').id));
    const check = await checkDomain(resolver, deps.config.mxHost, domain, deps.now());
    const holder = await deps.repos.domains.findVerified(domain.name);
    const takenElsewhere = check.ok && holder !== null && holder.id !== domain.id;
    const verified = domain.status === 'verified' || (check.ok && !takenElsewhere);
    try {
      await deps.repos.domains.setStatus(domain.id, verified ? 'verified' : 'pending', verified ? (domain.verifiedAt ?? check.checked_at) : null, check);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // Another account verified the name between our read and our write.
      await deps.repos.domains.setStatus(domain.id, 'pending', null, check);
      throw new HttpError(409, `${domain.name} is already verified by another account`);
    }
    if (takenElsewhere) throw new HttpError(409, `${domain.name} is already verified by another account`);
    if (verified && check.records.some((r) => r.purpose === 'dkim' && r.ok)) await deps.repos.domains.setDkimVerified(domain.id, check.checked_at);
    return c.json(domainJson(deps.config, (await deps.repos.domains.get(auth.user.id, domain.id))!), 200);
  });
  return r;
}
