import { createRoute, z } from '@hono/zod-openapi';
import { SlidingWindow } from '../auth/throttle.js';
import type { Deps } from '../deps.js';
import { HttpError } from '../errors.js';
import { SendBody } from '../send/request.js';
import { submitSend } from '../send/submit.js';
import { requireScope } from './guard.js';
import { tooMany } from './limits.js';
import { bearer, errors, json, jsonBody, router } from './openapi.js';

const SendAcceptedSchema = z.object({ id: z.string().openapi({ example: 'snd_…' }), status: z.literal('queued') }).openapi('SendAccepted');

const send = createRoute({
  method: 'post',
  path: '/send',
  tags: ['sending'],
  security: bearer,
  middleware: [requireScope('send')] as const,
  request: {
    headers: z.object({ 'idempotency-key': z.string().min(1).max(255).optional() }),
    body: jsonBody(SendBody),
  },
  responses: {
    202: json(SendAcceptedSchema, 'Queued: the send and its recipients are committed'),
    ...errors(400, 401, 403, 409, 413, 429),
  },
});

/** POST /v1/send. `kick` wakes the outbound worker once the rows are committed. */
export function sendRoutes(deps: Deps, kick: () => void) {
  const r = router();
  const perAccount = new SlidingWindow({ limit: deps.config.sendRatePerMinute, windowMs: 60_000, now: deps.now });
  const rateLimit = (userId: string) => {
    const wait = perAccount.take(userId);
    if (wait > 0) throw tooMany(wait, `sends for this account (SEND_RATE_PER_MINUTE=${deps.config.sendRatePerMinute})`);
  };
  r.openapi(send, async (c) => {
    const body = c.req.valid('json');
    const header = c.req.valid('header')['idempotency-key'];
    if (header && body.idempotency_key && header !== body.idempotency_key) {
      throw new HttpError(400, 'idempotency_key: differs from the Idempotency-Key header');
    }
    const accepted = await submitSend(deps, c.get('auth'), body, header ?? body.idempotency_key ?? null, rateLimit);
    kick();
    return c.json(accepted, 202);
  });
  return r;
}
