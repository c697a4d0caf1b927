import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Deps } from '../deps.js';
import { appRoutes } from './apps.js';
import { authRoutes } from './auth.js';
import { blockRoutes } from './blocks.js';
import { connectedAppRoutes } from './connected-apps.js';
import { EmailReceivedSchema } from './webhook-schema.js';
import { deliveryRoutes } from './deliveries.js';
import { domainVerifyRoutes } from './domain-verify.js';
import { domainWebhookRoutes } from './domain-webhook.js';
import { domainRoutes } from './domains.js';
import { googleRoutes } from './google.js';
import { authenticate } from './guard.js';
import { keyRoutes } from './keys.js';
import { createLimits } from './limits.js';
import { messageRoutes } from './messages.js';
import { routeTestRoutes } from './routes-test.js';
import { routeRoutes } from './routes.js';
import { sendRoutes } from './send.js';
import { sendsRoutes } from './sends.js';
import { suppressionRoutes } from './suppressions.js';
import { ErrorSchema, type ApiEnv } from './openapi.js';

const PUBLIC = new Set(['/api/health', '/api/openapi.json', '/api/auth/signup', '/api/auth/login', '/api/auth/google']);

/** Every /api resource, and GET /api/openapi.json generated from their schemas. */
export function apiRoutes(deps: Deps, kickDeliveries: () => void, kickSends: () => void = () => {}): OpenAPIHono<ApiEnv> {
  const limits = createLimits(deps);
  const api = new OpenAPIHono<ApiEnv>();
  const auth = authenticate(deps, limits);
  // One authentication per request, for every /api path but these.
  api.use('/api/*', (c, next) => (PUBLIC.has(c.req.path) ? next() : auth(c, next)));
  api.use('/v1/*', auth);
  api.route('/api/auth', authRoutes(deps, limits));
  api.route('/api/auth', googleRoutes(deps));
  api.route('/api/keys', keyRoutes(deps));
  api.route('/api/apps', appRoutes(deps));
  api.route('/api/connected-apps', connectedAppRoutes(deps));
  api.route('/api/domains', domainRoutes(deps));
  api.route('/api/domains', domainVerifyRoutes(deps));
  api.route('/api/domains', domainWebhookRoutes(deps));
  // Before the /:id routes, so "test" is never taken for a route id.
  api.route('/api/routes', routeTestRoutes(deps));
  api.route('/api/routes', routeRoutes(deps));
  api.route('/api/messages', messageRoutes(deps));
  api.route('/api/deliveries', deliveryRoutes(deps, kickDeliveries));
  api.route('/v1', sendRoutes(deps, kickSends));
  api.route('/api/sends', sendsRoutes(deps, kickSends));
  api.route('/api/suppressions', suppressionRoutes(deps));
  api.route('/api/blocks', blockRoutes(deps));

  const registry = api.openAPIRegistry;
  registry.registerComponent('securitySchemes', 'Bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'A session token (mhs_…), an API key (mhk_…) or an OAuth access token (mho_…)',
  });
  registry.register('EmailReceivedEvent', EmailReceivedSchema);
  // Served by plain Hono routers (health.ts, attachments.ts); described here so the document is complete.
  const HealthSchema = z.object({
    ok: z.boolean(),
    engine: z.enum(['sqlite', 'postgres']).describe('The database engine: postgres when DATABASE_URL is set'),
    checks: z.object({ db: z.boolean(), blobs: z.boolean() }),
  });
  registry.registerPath({
    method: 'get',
    path: '/api/health',
    tags: ['health'],
    responses: {
      200: { description: 'Database and blob store reachable', content: { 'application/json': { schema: HealthSchema } } },
      503: { description: 'A check failed', content: { 'application/json': { schema: HealthSchema } } },
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/att/{mid}/{idx}',
    tags: ['attachments'],
    description: 'Signed attachment or raw-message link (no credential); idx is an attachment index or "raw"',
    request: {
      params: z.object({ mid: z.string(), idx: z.string() }),
      query: z.object({ exp: z.string(), sig: z.string() }),
    },
    responses: {
      200: { description: 'The bytes, as a download' },
      403: { description: 'Tampered or malformed link', content: { 'application/json': { schema: ErrorSchema } } },
      410: { description: 'Link or object expired', content: { 'application/json': { schema: ErrorSchema } } },
    },
  });
  api.doc('/api/openapi.json', {
    openapi: '3.0.3',
    info: { title: 'Mailhook API', version: '0.1.0', description: 'Inbound email to signed webhooks' },
    servers: [{ url: deps.config.publicUrl }],
  });
  return api;
}
