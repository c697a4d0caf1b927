import { createRoute, z } from '@hono/zod-openapi';
import { randomBytes } from 'node:crypto';
import { domainToASCII } from 'node:url';
import type { Deps } from '../deps.js';
import { HttpError } from '../errors.js';
import { newId } from '../ids.js';
import { ensureDkimKey, newDkimKey } from '../send/dkim-key.js';
import { DomainSchema, domainJson } from './domain-json.js';
import { notFound, ownDomain, requireScope } from './guard.js';
import { bearer, errors, IdParam, json, jsonBody, page, PageQuery, paginate, router } from './openapi.js';
import { removeBlobs } from './remove-blobs.js';
import { isUniqueViolation } from '../db/repository.js';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * The stored form of a domain name: lower-case, no trailing dot, IDN in punycode (what DNS and
 * RCPT TO carry), at least two labels, a TLD that is not all digits (so no IP addresses).
 */
export function normaliseDomainName(input: string): string | null {
  const name = domainToASCII(input.trim().toLowerCase().replace(/\.$/, ''));
  if (!name || name.length > 253) return null;
  const labels = name.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l)) || /^\d+$/.test(labels[labels.length - 1]!)) return null;
  return name;
}

const tags = ['domains'];
const create = createRoute({
  method: 'post',
  path: '/',
  tags,
  security: bearer,
  middleware: [requireScope('domains:write')] as const,
  request: { body: jsonBody(z.object({ name: z.string().min(1).max(300).openapi({ example: 'example.com' }) })) },
  responses: { 201: json(DomainSchema, 'Added; publish `records`, then verify'), ...errors(400, 401, 403, 409) },
});
const list = createRoute({
  method: 'get',
  path: '/',
  tags,
  security: bearer,
  middleware: [requireScope('domains:read')] as const,
  request: { query: PageQuery },
  responses: { 200: json(page(DomainSchema), 'Newest first'), ...errors(400, 401, 403) },
});
const get = createRoute({
  method: 'get',
  path: '/{id}',
  tags,
  security: bearer,
  middleware: [requireScope('domains:read')] as const,
  request: { params: IdParam },
  responses: { 200: json(DomainSchema, 'The domain, its records, status and webhook'), ...errors(401, 403, 404) },
});
const remove = createRoute({
  method: 'delete',
  path: '/{id}',
  tags,
  security: bearer,
  middleware: [requireScope('domains:write')] as const,
  request: { params: IdParam },
  responses: { 204: { description: 'Deleted with its routes, messages (and their blobs) and keys' }, ...errors(401, 403, 404) },
});

/** GET/POST /api/domains, GET/DELETE /api/domains/:id. */
export function domainRoutes(deps: Deps) {
  const r = router();

  r.openapi(create, async (c) => {
    const auth = c.get('auth');
    if (auth.domainId) throw new HttpError(403, 'this API key is restricted to one domain and cannot add domains');
    const name = normaliseDomainName(c.req.valid('json').name);
    if (!name) throw new HttpError(400, 'name: not a valid domain name');
    if (await deps.repos.domains.getByName(auth.user.id, name)) throw new HttpError(409, `you already added ${name}`);
    const dkim = await newDkimKey(deps.config.secret);
    const now = deps.now();
    const id = newId('dom', now);
    try {
      await deps.repos.domains.insert({
        id,
        userId: auth.user.id,
        name,
        status: 'pending',
        verificationToken: randomBytes(18).toString('base64url'),
        verifiedAt: null,
        webhookUrl: null,
        webhookSecret: null,
        createdAt: now,
        dkim,
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new HttpError(409, `you already added ${name}`);
      throw err;
    }
    return c.json(domainJson(deps.config, (await deps.repos.domains.get(auth.user.id, id))!), 201);
  });

  r.openapi(list, async (c) => {
    const auth = c.get('auth');
    const q = c.req.valid('query');
    if (auth.domainId) {
      const own = await deps.repos.domains.get(auth.user.id, auth.domainId);
      const rows = own && (!q.before || own.id < q.before) ? [own] : [];
      return c.json(paginate(rows, q.limit, (d) => domainJson(deps.config, d)), 200);
    }
    const rows = await deps.repos.domains.list(auth.user.id, { before: q.before, limit: q.limit + 1 });
    return c.json(paginate(rows, q.limit, (d) => domainJson(deps.config, d)), 200);
  });

  r.openapi(get, async (c) => {
    const domain = await ensureDkimKey(deps, await ownDomain(deps, c.get('auth'), c.req.valid('param').id));
    return c.json(domainJson(deps.config, domain), 200);
  });

  r.openapi(remove, async (c) => {
    const auth = c.get('auth');
    const domain = await ownDomain(deps, auth, c.req.valid('param').id);
    // Blob keys and rows in one transaction, so a message committed meanwhile is not missed;
    // the delete cascades to routes, messages, deliveries and keys. Objects go last. Mail that
    // was also addressed to another of the account's domains stays, filed under that domain;
    // this domain's deliveries of it still pending end as failed.
    const keys = await deps.repos.removeDomain(auth.user.id, domain.id, domain.webhookSecret, deps.now());
    if (!keys) throw notFound('domain');
    await removeBlobs(deps, keys);
    return c.body(null, 204);
  });
  return r;
}
