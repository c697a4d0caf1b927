import { z } from '@hono/zod-openapi';
import type { Domain } from '../db/domains.js';
import type { Route, RouteAction } from '../db/routes.js';
import { PAYLOAD_MODES } from '../deliver/payload.js';
import { newWebhookSecret } from '../deliver/sign.js';
import type { Deps } from '../deps.js';
import { HttpError } from '../errors.js';
import { parseMailbox } from '../send/request.js';
import { newId } from '../ids.js';
import { assertWebhookUrl } from '../net/url-guard.js';
import { validateFilters } from '../route/match.js';
import { recipientPatternCost, validatePattern } from '../route/pattern.js';

export const ACTIONS = ['webhook', 'store', 'drop', 'reject', 'forward'] as const satisfies readonly RouteAction[];

const FiltersSchema = z
  .record(z.string(), z.unknown())
  .nullish()
  .openapi({
    description: 'All must hold: `from`, `subject` (patterns), `header: { name, value }`, `spam` ("spam", "reject" or a minimum score)',
    example: { from: '*@stripe.com', subject: 'invoice' },
  });

/** Every field of PATCH; POST adds domain_id and makes match and action required. */
export const RoutePatchSchema = z.object({
  match: z.string().min(1).max(1000).optional().openapi({ example: 'support@example.com' }),
  action: z.enum(ACTIONS).optional(),
  destination: z.string().max(2048).nullish().openapi({ description: 'https URL for webhook routes; an email address for forward routes' }),
  priority: z.number().int().min(0).max(10_000).optional().openapi({ description: 'Lower runs first; default 100' }),
  stop: z.boolean().optional().openapi({ description: 'Stop evaluating later routes when this one fires' }),
  filters: FiltersSchema,
  enabled: z.boolean().optional(),
  payload: z.enum(PAYLOAD_MODES).optional().openapi({
    description: 'What a webhook route posts: `json` (default), `json+attachments` (small attachments inline as base64), `raw` (the message as message/rfc822)',
  }),
});
export type RoutePatch = z.infer<typeof RoutePatchSchema>;

export const RouteCreateSchema = RoutePatchSchema.extend({
  domain_id: z.string().max(64),
  match: z.string().min(1).max(1000).openapi({ example: 'support@example.com' }),
  action: z.enum(ACTIONS),
});

const bad = (field: string, why: string) => new HttpError(400, `${field}: ${why}`);

/** Enabled routes per domain: every RCPT TO loads and walks all of them. */
export const MAX_ROUTES_PER_DOMAIN = 1000;
/**
 * The sum of the compiled sizes of a domain's enabled recipient patterns (exact addresses cost
 * nothing, `*@d` about 15). One RCPT TO costs at most (320 + 1) steps per unit: 10,000 keeps it
 * around 50 ms of event loop however the patterns are written.
 */
export const MAX_DOMAIN_PATTERN_COST = 10_000;

/** A new or newly enabled or re-matched route must keep its domain within the limits above. */
async function assertDomainLimits(deps: Deps, route: Route): Promise<void> {
  const others = (await deps.repos.routes.enabledForDomain(route.domainId)).filter((r) => r.id !== route.id);
  if (others.length >= MAX_ROUTES_PER_DOMAIN) {
    throw new HttpError(409, `a domain has at most ${MAX_ROUTES_PER_DOMAIN} enabled routes; this one has ${others.length}`);
  }
  const cost = others.reduce((n, r) => n + recipientPatternCost(r.match), recipientPatternCost(route.match));
  if (cost > MAX_DOMAIN_PATTERN_COST) {
    throw new HttpError(
      409,
      `match: this domain's patterns would cost ${cost} (limit ${MAX_DOMAIN_PATTERN_COST}); use exact addresses, fewer wildcards or simpler regular expressions`,
    );
  }
}

/**
 * The route after applying `patch` to `current` (null when creating), every field validated
 * against the result: changing `action` re-checks destination and filters.
 */
export async function applyRoutePatch(deps: Deps, domain: Domain, userId: string, current: Route | null, patch: RoutePatch): Promise<Route> {
  const now = deps.now();
  const match = (patch.match ?? current?.match ?? '').trim();
  const matchError = validatePattern(match, domain.name);
  if (matchError) throw bad('match', matchError);

  const action = patch.action ?? current?.action;
  if (!action) throw bad('action', 'required');
  // Switching to another action drops the destination unless the patch names one.
  const keeps = current?.action === action && (action === 'webhook' || action === 'forward');
  const destination = patch.destination !== undefined ? patch.destination?.trim() || null : keeps ? (current?.destination ?? null) : null;
  if (action === 'webhook') {
    if (!destination) throw bad('destination', 'required for webhook routes');
    assertWebhookUrl(destination, { allowInsecure: deps.config.allowInsecureWebhooks });
  } else if (action === 'forward') {
    if (!destination) throw bad('destination', 'required for forward routes: the email address to forward to');
    parseMailbox(destination, 'destination');
    if (!/^[^<>\s]+$/.test(destination)) throw bad('destination', 'a bare email address (no display name)');
  } else if (destination) {
    throw bad('destination', `only webhook routes have one (action is ${action})`);
  }

  const filters = validateFilters(patch.filters !== undefined ? patch.filters : current?.filters, action);
  if ('error' in filters) throw new HttpError(400, filters.error.startsWith('filters') ? filters.error : `filters: ${filters.error}`);

  // Only a webhook posts anything; switching to another action forgets the mode.
  if (patch.payload !== undefined && patch.payload !== 'json' && action !== 'webhook') {
    throw bad('payload', `only webhook routes post a payload (action is ${action})`);
  }
  const payload = action === 'webhook' ? (patch.payload ?? current?.payload ?? 'json') : 'json';

  const route: Route = {
    id: current?.id ?? newId('rte', now),
    userId,
    domainId: domain.id,
    match,
    action,
    destination,
    // A webhook route keeps its signing secret across edits; other actions sign nothing.
    secret: action === 'webhook' ? (current?.secret ?? newWebhookSecret()) : null,
    priority: patch.priority ?? current?.priority ?? 100,
    stop: patch.stop ?? current?.stop ?? false,
    filters: filters.filters,
    enabled: patch.enabled ?? current?.enabled ?? true,
    payload,
    createdAt: current?.createdAt ?? now,
    updatedAt: now,
  };
  const costlier = !current || (route.match !== current.match && route.enabled) || (route.enabled && !current.enabled);
  if (costlier && route.enabled) await assertDomainLimits(deps, route);
  return route;
}

export const RouteSchema = z
  .object({
    id: z.string(),
    domain_id: z.string(),
    match: z.string(),
    action: z.enum(ACTIONS),
    destination: z.string().nullable(),
    secret: z.string().nullable().openapi({ description: 'whsec_… signing secret of a webhook route' }),
    priority: z.number().int(),
    stop: z.boolean(),
    filters: z
      .object({
        from: z.string().optional(),
        subject: z.string().optional(),
        header: z.object({ name: z.string(), value: z.string() }).optional(),
        spam: z
          .union([z.enum(['spam', 'reject']), z.number()])
          .optional()
          .openapi({ description: 'The spam verdict (SPAM_FILTER): "spam", "reject", or a minimum score; unchecked mail never matches' }),
      })
      .nullable(),
    enabled: z.boolean(),
    payload: z.enum(PAYLOAD_MODES),
    created_at: z.number().int(),
    updated_at: z.number().int(),
  })
  .openapi('Route');

export const routeJson = (r: Route): z.infer<typeof RouteSchema> => ({
  id: r.id,
  domain_id: r.domainId,
  match: r.match,
  action: r.action,
  destination: r.destination,
  secret: r.secret,
  priority: r.priority,
  stop: r.stop,
  filters: r.filters,
  enabled: r.enabled,
  payload: r.payload ?? 'json',
  created_at: r.createdAt,
  updated_at: r.updatedAt,
});
