import { createRoute, z } from '@hono/zod-openapi';
import { randomBytes } from 'node:crypto';
import { buildTestEvent, PAYLOAD_MODES } from '../deliver/payload.js';
import { postWebhook } from '../deliver/post.js';
import { newWebhookSecret } from '../deliver/sign.js';
import type { Deps } from '../deps.js';
import { HttpError } from '../errors.js';
import { assertWebhookUrl } from '../net/url-guard.js';
import { WebhookSchema } from './domain-json.js';
import { ownDomain, requireScope } from './guard.js';
import { bearer, errors, IdParam, json, jsonBody, router } from './openapi.js';

const tags = ['domains'];

const put = createRoute({
  method: 'put',
  path: '/{id}/webhook',
  tags,
  security: bearer,
  middleware: [requireScope('domains:write')] as const,
  request: {
    params: IdParam,
    body: jsonBody(
      z.object({
        url: z.string().min(1).max(2048).openapi({ example: 'https://app.example.com/hooks/mail' }),
        payload: z.enum(PAYLOAD_MODES).optional().openapi({ description: 'json (default), json+attachments or raw; omitted keeps the current mode' }),
      }),
    ),
  },
  responses: { 200: json(WebhookSchema, 'Set; the secret signs every delivery'), ...errors(400, 401, 403, 404) },
});
const remove = createRoute({
  method: 'delete',
  path: '/{id}/webhook',
  tags,
  security: bearer,
  middleware: [requireScope('domains:write')] as const,
  request: { params: IdParam },
  responses: { 204: { description: 'Removed (mail no route matches is then refused at RCPT)' }, ...errors(401, 403, 404) },
});
const TestResultSchema = z
  .object({
    ok: z.boolean(),
    status_code: z.number().int().nullable(),
    latency_ms: z.number().int(),
    body: z.string().openapi({ description: 'First 1 KiB of the response' }),
    error: z.string().nullable(),
  })
  .openapi('WebhookTestResult');
const test = createRoute({
  method: 'post',
  path: '/{id}/webhook/test',
  tags,
  security: bearer,
  middleware: [requireScope('domains:write')] as const,
  request: { params: IdParam },
  responses: { 200: json(TestResultSchema, 'What the receiver answered to a signed webhook.test event'), ...errors(401, 403, 404, 409) },
});

/** PUT/DELETE /api/domains/:id/webhook, POST /api/domains/:id/webhook/test. */
export function domainWebhookRoutes(deps: Deps) {
  const r = router();

  r.openapi(put, async (c) => {
    const domain = await ownDomain(deps, c.get('auth'), c.req.valid('param').id);
    const body = c.req.valid('json');
    const url = body.url.trim();
    assertWebhookUrl(url, { allowInsecure: deps.config.allowInsecureWebhooks });
    // Replacing the URL keeps the secret: the receiver's verification code keeps working.
    const secret = domain.webhookSecret ?? newWebhookSecret();
    const payload = body.payload ?? (domain.webhookUrl ? domain.webhookPayload : 'json');
    await deps.repos.domains.setWebhook(domain.id, url, secret, payload);
    return c.json({ url, secret, payload }, 200);
  });

  r.openapi(remove, async (c) => {
    const domain = await ownDomain(deps, c.get('auth'), c.req.valid('param').id);
    await deps.repos.domains.setWebhook(domain.id, null, null);
    return c.body(null, 204);
  });

  r.openapi(test, async (c) => {
    const domain = await ownDomain(deps, c.get('auth'), c.req.valid('param').id);
    if (!domain.webhookUrl || !domain.webhookSecret) throw new HttpError(409, 'this domain has no webhook; PUT one first');
    const now = deps.now();
    const result = await postWebhook({
      url: domain.webhookUrl,
      secret: domain.webhookSecret,
      id: `test_${randomBytes(12).toString('hex')}`,
      body: JSON.stringify(buildTestEvent(domain.name, now)),
      now,
      timeoutMs: deps.config.webhookTimeoutMs,
      allowInsecure: deps.config.allowInsecureWebhooks,
    });
    if (result.detail) deps.log.warn('webhook test destination refused', { domain: domain.id, url: domain.webhookUrl, detail: result.detail });
    const ok = result.error === null && result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
    return c.json({ ok, status_code: result.statusCode, latency_ms: result.latencyMs, body: result.body, error: result.error }, 200);
  });
  return r;
}
