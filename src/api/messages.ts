import { createRoute, z } from '@hono/zod-openapi';
import { stream } from 'hono/streaming';
import type { Readable } from 'node:stream';
import type { MessageWithDomains } from '../db/messages.js';
import type { Deps } from '../deps.js';
import { HttpError } from '../errors.js';
import { BlobNotFoundError } from '../store/blob-store.js';
import { DeliverySchema, deliveryJson } from './deliveries.js';
import { SendSchema, sendJson } from './sends.js';
import { canSeeDomain, canSeeMessage, listDomain, notFound, requireScope, type Auth } from './guard.js';
import { MessageFieldsSchema, messageJson, MessageSummarySchema, messageSummaryJson } from './message-json.js';
import { bearer, ErrorSchema, errors, IdParam, json, page, PageQuery, paginate, router } from './openapi.js';
import { removeBlobs } from './remove-blobs.js';

const MessageSchema = MessageFieldsSchema.extend({
  deliveries: z.array(DeliverySchema),
  forwards: z.array(SendSchema).openapi({ description: 'Outbound sends of this message by `forward` routes, with each attempt' }),
}).openapi('Message');
const epochMs = z.coerce.number().int().min(0).max(8.64e15);

const tags = ['messages'];
const list = createRoute({
  method: 'get',
  path: '/',
  tags,
  security: bearer,
  middleware: [requireScope('messages:read')] as const,
  request: {
    query: PageQuery.extend({
      domain_id: z.string().max(64).optional().openapi({ description: 'Messages with a recipient at this domain' }),
      recipient: z.string().max(320).optional().openapi({ description: 'An envelope recipient, exact' }),
      from: z.string().max(320).optional().openapi({ description: 'The From address, exact' }),
      since: epochMs.optional().openapi({ description: 'received_at >= since (epoch ms)' }),
      until: epochMs.optional().openapi({ description: 'received_at < until (epoch ms)' }),
    }),
  },
  responses: { 200: json(page(MessageSummarySchema), 'Newest first'), ...errors(400, 401, 403) },
});
const get = createRoute({
  method: 'get',
  path: '/{id}',
  tags,
  security: bearer,
  middleware: [requireScope('messages:read')] as const,
  request: { params: IdParam },
  responses: { 200: json(MessageSchema, 'With attachments (fresh links) and deliveries with their attempts'), ...errors(401, 403, 404) },
});
const raw = createRoute({
  method: 'get',
  path: '/{id}/raw',
  tags,
  security: bearer,
  middleware: [requireScope('messages:read')] as const,
  request: { params: IdParam },
  responses: {
    200: { description: 'The message as received', content: { 'message/rfc822': { schema: z.string().openapi({ format: 'binary' }) } } },
    ...errors(401, 403, 404),
    410: { description: 'The raw message is no longer stored' },
  },
});
const remove = createRoute({
  method: 'delete',
  path: '/{id}',
  tags,
  security: bearer,
  middleware: [requireScope('messages:write')] as const,
  request: { params: IdParam },
  responses: {
    204: { description: 'Deleted with its deliveries, attachments and stored objects' },
    ...errors(401, 404),
    403: {
      description: 'Missing scope, or a key restricted to one domain and a message also addressed to another domain',
      content: { 'application/json': { schema: ErrorSchema } },
    },
  },
});

async function ownMessage(deps: Deps, auth: Auth, id: string): Promise<MessageWithDomains> {
  const m = await deps.repos.messages.get(auth.user.id, id);
  if (!m || !canSeeMessage(auth, m)) throw notFound('message');
  return m;
}

/** GET /api/messages, GET/DELETE /api/messages/:id, GET /api/messages/:id/raw. */
export function messageRoutes(deps: Deps) {
  const r = router();

  r.openapi(list, async (c) => {
    const auth = c.get('auth');
    const q = c.req.valid('query');
    const domainId = listDomain(auth, q.domain_id);
    if (domainId === false) return c.json({ data: [], next_cursor: null }, 200);
    const rows = await deps.repos.messages.list({
      userId: auth.user.id,
      domainId,
      recipient: q.recipient?.trim(),
      from: q.from?.trim(),
      since: q.since,
      until: q.until,
      before: q.before,
      limit: q.limit + 1,
    });
    return c.json(paginate(rows, q.limit, messageSummaryJson), 200);
  });

  r.openapi(get, async (c) => {
    const auth = c.get('auth');
    const m = await ownMessage(deps, auth, c.req.valid('param').id);
    // A key restricted to one domain sees that domain's deliveries, as GET /api/deliveries does.
    const rows = auth.domainId ? await deps.repos.domainDeliveries.forMessage(m.id, auth.domainId) : await deps.repos.deliveries.forMessage(m.id);
    const deliveries = await Promise.all(rows.map(async (d) => deliveryJson(d, await deps.repos.deliveries.attempts(d.id))));
    const forwards = await Promise.all(
      (await deps.repos.sends.forMessage(m.id))
        .filter((s) => s.kind === 'forward' && (!auth.domainId || s.domainId === auth.domainId))
        .map((s) => sendJson(deps, s, true)),
    );
    return c.json({ ...messageJson(deps.config, m, await deps.repos.messages.attachments(m.id)), deliveries, forwards }, 200);
  });

  r.openapi(raw, async (c) => {
    const m = await ownMessage(deps, c.get('auth'), c.req.valid('param').id);
    let body: Readable;
    try {
      body = await deps.blobs.get(m.rawKey);
    } catch (err) {
      if (err instanceof BlobNotFoundError) throw new HttpError(410, 'the raw message is no longer stored');
      deps.log.error('blob read failed', { err, key: m.rawKey });
      throw new HttpError(502, 'storage unavailable');
    }
    // The sender's bytes, served as a download in a sandbox like /att: never rendered as our origin.
    c.header('Content-Type', 'message/rfc822');
    c.header('Content-Disposition', `attachment; filename="${m.id}.eml"`);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Content-Security-Policy', "default-src 'none'; sandbox");
    return stream(c, async (s) => {
      s.onAbort(() => {
        body.destroy();
      });
      for await (const chunk of body) await s.write(chunk as Uint8Array);
    });
  });

  r.openapi(remove, async (c) => {
    const auth = c.get('auth');
    const m = await ownMessage(deps, auth, c.req.valid('param').id);
    // One stored copy serves every domain it was addressed to: a key restricted to one of them
    // may read it, but deleting it would also take it (and its delivery log) from the others.
    if (!m.domainIds.every((d) => canSeeDomain(auth, d))) {
      throw new HttpError(403, 'this message was also addressed to another domain: delete it with a key not restricted to one domain');
    }
    // Blobs kept in the database go with the row (cascade); the others are objects to delete after it.
    const keys = await deps.repos.blobs.external([m.rawKey, ...(await deps.repos.messages.attachments(m.id)).map((a) => a.blobKey)]);
    await deps.repos.messages.delete(m.id);
    await removeBlobs(deps, keys);
    return c.body(null, 204);
  });
  return r;
}
