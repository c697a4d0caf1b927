import { createRoute, z } from '@hono/zod-openapi';
import type { Domain } from '../db/domains.js';
import type { Deps } from '../deps.js';
import { HttpError } from '../errors.js';
import { domainOf } from '../inbound/plan.js';
import { emptyParsed } from '../parse/empty-parsed.js';
import { rcptDecision, routesForRecipient } from '../route/match.js';
import { readDryRun } from './dry-run-body.js';
import { dryRunSlot } from './dry-run-slots.js';
import { canSeeMessage, notFound, ownDomain, requireScope } from './guard.js';
import { bearer, errors, json, jsonBody, router } from './openapi.js';

const MAX_RECIPIENTS = 100;

const ResultSchema = z
  .object({
    recipient: z.string(),
    rcpt: z.object({ accept: z.boolean(), code: z.number().int(), message: z.string() }),
    fired: z.array(z.object({ route_id: z.string(), action: z.string(), destination: z.string().nullable(), reason: z.string() })),
    trace: z.array(z.object({ route_id: z.string(), matched: z.boolean(), reason: z.string() })),
    catch_all: z.object({ url: z.string() }).nullable(),
  })
  .openapi('RouteTestResult');

const DryRunBody = z.object({
  domain_id: z.string().max(64),
  raw: z.string().optional().openapi({ description: 'A whole RFC 5322 message' }),
  message_id: z.string().max(64).optional().openapi({ description: 'A stored message (msg_…) instead of raw' }),
  recipient: z.string().max(320).optional().openapi({ description: 'Default: the message’s recipients at this domain' }),
});

/**
 * Documented here, read by readDryRun rather than the route's validator: that would decode and
 * JSON-parse up to 10 MiB on the event loop. Parsing the pasted message takes turns with the
 * account's other dry runs on a parse thread; attachment and text bodies are dropped there
 * (filters never look at them).
 */
const test = createRoute({
  method: 'post',
  path: '/test',
  tags: ['routes'],
  security: bearer,
  description: 'Dry run: which routes a message would fire, and why. Nothing is stored or delivered.',
  request: { body: jsonBody(DryRunBody) },
  responses: {
    200: json(z.object({ domain_id: z.string(), results: z.array(ResultSchema) }), 'One result per recipient'),
    ...errors(400, 401, 403, 404, 413, 429),
  },
});

/** Whether RCPT TO would take this recipient: the domain must be verified, then the routes decide. */
function rcptVerdict(domain: Domain, recipient: string, accept: ReturnType<typeof rcptDecision>) {
  if (domainOf(recipient) !== domain.name) return { accept: false, code: 550, message: `recipient is not at ${domain.name}` };
  if (domain.status !== 'verified') return { accept: false, code: 550, message: 'domain not verified: every recipient is refused' };
  return accept.accept ? { accept: true, code: 250, message: 'accepted' } : { accept: false, code: accept.code, message: accept.message };
}

/** POST /api/routes/test. */
export function routeTestRoutes(deps: Deps) {
  const r = router();
  r.openAPIRegistry.registerPath(test);
  r.post(test.path, requireScope('routes:read'), dryRunSlot, async (c) => {
    const auth = c.get('auth');
    const { body, message: pasted } = await readDryRun(c, DryRunBody, `dry-run:${auth.user.id}`);
    const domain = await ownDomain(deps, auth, body.domain_id);
    if (body.raw !== undefined && body.message_id !== undefined) throw new HttpError(400, 'raw, message_id: give one, not both');

    let parsed = emptyParsed();
    let recipients: string[] = [];
    if (body.message_id !== undefined) {
      const message = await deps.repos.messages.get(auth.user.id, body.message_id);
      if (!message || !canSeeMessage(auth, message)) throw notFound('message');
      parsed = message.parsed;
      recipients = message.envelope.rcptTo.filter((a) => domainOf(a) === domain.name);
    } else if (body.raw !== undefined) {
      parsed = await pasted();
      recipients = [...parsed.to, ...parsed.cc].map((a) => a.address).filter((a) => domainOf(a) === domain.name);
    }
    if (body.recipient !== undefined) recipients = [body.recipient.trim()];
    recipients = [...new Set(recipients.map((a) => a.toLowerCase()))].slice(0, MAX_RECIPIENTS);
    if (recipients.length === 0) throw new HttpError(400, `recipient: required (no recipient at ${domain.name} in the message)`);

    const routes = await deps.repos.routes.enabledForDomain(domain.id);
    const results = recipients.map((recipient) => {
      const { fired, trace } = routesForRecipient(routes, recipient, parsed);
      const catchAll = fired.length === 0 && domain.webhookUrl ? { url: domain.webhookUrl } : null;
      return {
        recipient,
        rcpt: rcptVerdict(domain, recipient, rcptDecision(routes, recipient, !!domain.webhookUrl)),
        fired: fired.map((f) => ({ route_id: f.route.id, action: f.route.action, destination: f.route.destination, reason: f.reason })),
        trace: trace.map((t) => ({ route_id: t.routeId, matched: t.matched, reason: t.reason })),
        catch_all: catchAll,
      };
    });
    return c.json({ domain_id: domain.id, results }, 200);
  });
  return r;
}
