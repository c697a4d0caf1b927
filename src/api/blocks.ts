import { createRoute, z } from '@hono/zod-openapi';
import type { SenderBlock } from '../db/sender-blocks.js';
import type { Deps } from '../deps.js';
import { HttpError } from '../errors.js';
import { newId } from '../ids.js';
import { normaliseBlockPattern } from '../route/sender-block.js';
import { listDomain, notFound, ownDomain, requireScope, type Auth } from './guard.js';
import { bearer, errors, IdParam, json, jsonBody, page, PageQuery, paginate, router } from './openapi.js';

const tags = ['blocks'];

/** Every RCPT TO and every DATA loads the account's blocks: keep that list small. */
export const MAX_BLOCKS_PER_ACCOUNT = 1000;

export const BlockSchema = z
  .object({
    id: z.string().openapi({ example: 'blk_…' }),
    domain_id: z.string().nullable().openapi({ description: 'Null: every domain of the account' }),
    pattern: z.string().openapi({ description: 'Normalised: lower-case, domain in punycode' }),
    created_at: z.number().int(),
  })
  .openapi('SenderBlock');

const BlockCreateSchema = z.object({
  domain_id: z.string().max(64).nullish().openapi({ description: 'Only mail to this domain; omitted: the whole account (a domain-limited key: its domain)' }),
  pattern: z.string().min(1).max(320).openapi({
    description: '`ada@example.com` (that address), `*@example.com` (that domain), `example.com` (that domain and its subdomains)',
    example: '*@spam.example',
  }),
});

const blockJson = (b: SenderBlock): z.infer<typeof BlockSchema> => ({
  id: b.id,
  domain_id: b.domainId,
  pattern: b.pattern,
  created_at: b.createdAt,
});

const create = createRoute({
  method: 'post',
  path: '/',
  tags,
  security: bearer,
  middleware: [requireScope('routes:write')] as const,
  request: { body: jsonBody(BlockCreateSchema) },
  responses: { 201: json(BlockSchema, 'Blocked: from now on refused with 550 at RCPT TO (MAIL FROM) or after DATA (header From)'), ...errors(400, 401, 403, 404, 409) },
});
const list = createRoute({
  method: 'get',
  path: '/',
  tags,
  security: bearer,
  middleware: [requireScope('routes:read')] as const,
  request: { query: PageQuery.extend({ domain_id: z.string().max(64).optional() }) },
  responses: { 200: json(page(BlockSchema), 'Newest first'), ...errors(400, 401, 403) },
});
const remove = createRoute({
  method: 'delete',
  path: '/{id}',
  tags,
  security: bearer,
  middleware: [requireScope('routes:write')] as const,
  request: { params: IdParam },
  responses: { 204: { description: 'Unblocked' }, ...errors(401, 403, 404) },
});

async function ownBlock(deps: Deps, auth: Auth, id: string): Promise<SenderBlock> {
  const b = await deps.repos.senderBlocks.get(auth.user.id, id);
  // An account-wide block is outside a domain-limited key's reach.
  if (!b || (auth.domainId !== null && b.domainId !== auth.domainId)) throw notFound('block');
  return b;
}

/** GET/POST /api/blocks, DELETE /api/blocks/:id. */
export function blockRoutes(deps: Deps) {
  const r = router();

  r.openapi(create, async (c) => {
    const auth = c.get('auth');
    const body = c.req.valid('json');
    const domainId = body.domain_id ?? auth.domainId;
    if (domainId) await ownDomain(deps, auth, domainId);
    const normal = normaliseBlockPattern(body.pattern);
    if ('error' in normal) throw new HttpError(400, `pattern: ${normal.error}`);
    if (await deps.repos.senderBlocks.find(auth.user.id, domainId, normal.pattern)) throw new HttpError(409, `${normal.pattern} is already blocked`);
    if (await deps.repos.senderBlocks.count(auth.user.id) >= MAX_BLOCKS_PER_ACCOUNT) {
      throw new HttpError(409, `an account has at most ${MAX_BLOCKS_PER_ACCOUNT} blocks`);
    }
    const block: SenderBlock = { id: newId('blk', deps.now()), userId: auth.user.id, domainId, pattern: normal.pattern, createdAt: deps.now() };
    await deps.repos.senderBlocks.insert(block);
    return c.json(blockJson(block), 201);
  });

  r.openapi(list, async (c) => {
    const auth = c.get('auth');
    const q = c.req.valid('query');
    const domainId = listDomain(auth, q.domain_id);
    if (domainId === false) return c.json({ data: [], next_cursor: null }, 200);
    const rows = await deps.repos.senderBlocks.list(auth.user.id, { domainId, before: q.before, limit: q.limit + 1 });
    return c.json(paginate(rows, q.limit, blockJson), 200);
  });

  r.openapi(remove, async (c) => {
    const auth = c.get('auth');
    const block = await ownBlock(deps, auth, c.req.valid('param').id);
    await deps.repos.senderBlocks.delete(auth.user.id, block.id);
    return c.body(null, 204);
  });
  return r;
}
