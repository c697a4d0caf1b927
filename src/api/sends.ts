import { createRoute, z } from '@hono/zod-openapi';
import type { Recipient, Send, SendAttempt } from '../db/sends.js';
import type { Deps } from '../deps.js';
import { canSeeDomain, listDomain, notFound, requireScope } from './guard.js';
import { bearer, errors, IdParam, json, page, PageQuery, paginate, router } from './openapi.js';

const STATUSES = ['queued', 'deferred', 'sent', 'bounced', 'failed', 'suppressed'] as const;

const AttemptSchema = z
  .object({
    started_at: z.number().int(),
    finished_at: z.number().int().nullable(),
    mx: z.string().nullable(),
    code: z.number().int().nullable().openapi({ description: 'SMTP reply code; null when no server answered' }),
    reply: z.string().nullable(),
    error: z.string().nullable(),
  })
  .openapi('SendAttempt');

const RecipientSchema = z
  .object({
    address: z.string(),
    status: z.enum(STATUSES),
    attempt_count: z.number().int(),
    next_attempt_at: z.number().int().nullable(),
    last_code: z.number().int().nullable(),
    last_reply: z.string().nullable(),
    attempts: z.array(AttemptSchema).optional(),
  })
  .openapi('SendRecipient');

export const SendSchema = z
  .object({
    id: z.string(),
    kind: z.enum(['send', 'forward']),
    domain_id: z.string(),
    from: z.string(),
    subject: z.string(),
    message_id: z.string(),
    source_message_id: z.string().nullable(),
    status: z.enum(['queued', 'sent', 'partial', 'bounced', 'failed', 'suppressed']).openapi({ description: 'queued while any recipient is queued or deferred; sent when all were; partial for a mix' }),
    recipients: z.array(RecipientSchema),
    created_at: z.number().int(),
  })
  .openapi('Send');

/** One word for a send from its recipients' states. */
function overall(rs: Recipient[]): z.infer<typeof SendSchema>['status'] {
  if (rs.some((r) => r.status === 'queued' || r.status === 'deferred')) return 'queued';
  const kinds = new Set(rs.map((r) => r.status));
  return kinds.size === 1 ? ([...kinds][0] as 'sent' | 'bounced' | 'failed' | 'suppressed') : 'partial';
}

const attemptJson = (a: SendAttempt) => ({ started_at: a.startedAt, finished_at: a.finishedAt, mx: a.mx, code: a.code, reply: a.reply, error: a.error });

export async function sendJson(deps: Deps, s: Send, withAttempts: boolean): Promise<z.infer<typeof SendSchema>> {
  const rs = await deps.repos.sends.recipients(s.id);
  const attempts = withAttempts ? await deps.repos.sends.attempts(s.id) : [];
  return {
    id: s.id,
    kind: s.kind,
    domain_id: s.domainId,
    from: s.fromAddress,
    subject: s.subject,
    message_id: s.messageId,
    source_message_id: s.sourceMessageId,
    status: overall(rs),
    recipients: rs.map((r) => ({
      address: r.address,
      status: r.status,
      attempt_count: r.attempts,
      next_attempt_at: r.nextAttemptAt,
      last_code: r.lastCode,
      last_reply: r.lastReply,
      ...(withAttempts ? { attempts: attempts.filter((a) => a.recipientId === r.id).map(attemptJson) } : {}),
    })),
    created_at: s.createdAt,
  };
}

const tags = ['sending'];
const list = createRoute({
  method: 'get',
  path: '/',
  tags,
  security: bearer,
  middleware: [requireScope('send')] as const,
  request: { query: PageQuery.extend({ status: z.enum(STATUSES).optional().openapi({ description: 'sends with a recipient in this state' }), domain_id: z.string().max(64).optional() }) },
  responses: { 200: json(page(SendSchema), 'Newest first'), ...errors(400, 401, 403) },
});
const get = createRoute({
  method: 'get',
  path: '/{id}',
  tags,
  security: bearer,
  middleware: [requireScope('send')] as const,
  request: { params: IdParam },
  responses: { 200: json(SendSchema, 'The send with each recipient and its attempt log'), ...errors(401, 403, 404) },
});

const retry = createRoute({
  method: 'post',
  path: '/{id}/retry',
  tags,
  security: bearer,
  middleware: [requireScope('send')] as const,
  request: { params: IdParam },
  responses: { 200: json(SendSchema, 'Recipients not yet delivered (queued, deferred, failed) are due now'), ...errors(401, 403, 404) },
});

/** GET /api/sends, GET /api/sends/:id, POST /api/sends/:id/retry (`kick` wakes the outbound worker). */
export function sendsRoutes(deps: Deps, kick: () => void = () => {}) {
  const r = router();
  r.openapi(list, async (c) => {
    const auth = c.get('auth');
    const q = c.req.valid('query');
    const domainId = listDomain(auth, q.domain_id);
    if (domainId === false) return c.json({ data: [], next_cursor: null }, 200);
    const rows = await deps.repos.sends.list({ userId: auth.user.id, domainId, status: q.status, before: q.before, limit: q.limit + 1 });
    const page = paginate(rows, q.limit, (s) => s);
    return c.json({ data: await Promise.all(page.data.map((s) => sendJson(deps, s, false))), next_cursor: page.next_cursor }, 200);
  });
  r.openapi(get, async (c) => {
    const auth = c.get('auth');
    const s = await deps.repos.sends.get(auth.user.id, c.req.valid('param').id);
    if (!s || !canSeeDomain(auth, s.domainId)) throw notFound('send');
    return c.json(await sendJson(deps, s, true), 200);
  });
  r.openapi(retry, async (c) => {
    const auth = c.get('auth');
    const s = await deps.repos.sends.get(auth.user.id, c.req.valid('param').id);
    if (!s || !canSeeDomain(auth, s.domainId)) throw notFound('send');
    // A recipient in flight keeps its lease: its attempt's result decides, then the retry runs.
    await deps.repos.outbound.retryNow(s.id, deps.now());
    kick();
    return c.json(await sendJson(deps, s, true), 200);
  });
  return r;
}
