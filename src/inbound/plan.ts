import { domainToASCII } from 'node:url';
import type { Domain } from '../db/domains.js';
import type { Repository } from '../db/repository.js';
import type { Route } from '../db/routes.js';
import { routesForRecipient, type RoutedMessage } from '../route/match.js';
import type { ParsedMessage } from '../parse/types.js';
import { alreadyForwarded } from '../send/forward.js';
import type { PayloadMode } from '../deliver/payload.js';

/** The domain part of an address as stored: ASCII (punycode), lower-case, no trailing dot. */
export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0) return '';
  const name = address.slice(at + 1).replace(/\.$/, '').toLowerCase();
  return domainToASCII(name) || '';
}

/** The verified domain that receives mail for `address`, or null. */
export async function receivingDomain(repos: Repository, address: string): Promise<Domain | null> {
  const name = domainOf(address);
  return name ? await repos.domains.findVerified(name) : null;
}

export interface PlannedDelivery {
  routeId: string | null;
  /** The route's domain, or the domain whose catch-all it is: recorded on the delivery. */
  domainId: string;
  url: string;
  secret: string;
  payload: PayloadMode;
}

export interface PlannedForward {
  routeId: string;
  domainId: string;
  domainName: string;
  to: string;
}

/** One account's share of an SMTP transaction: its own stored copy and deliveries. */
export interface AccountPlan {
  userId: string;
  domainId: string;
  recipients: { address: string; domainId: string }[];
  deliveries: PlannedDelivery[];
  /** `forward` routes that fired: one outbound send each (src/send/forward.ts). */
  forwards: PlannedForward[];
  /** False when every recipient only hit `drop` routes: accept, keep nothing. */
  keep: boolean;
}

/**
 * Groups recipients by account (each gets its own copy) and runs the routes of each. A
 * recipient whose routes refuse the message (a reject route with a spam filter) is left out
 * and listed in `refused`.
 */
export async function planDelivery(
  repos: Repository,
  rcptTo: string[],
  parsed: ParsedMessage & Pick<RoutedMessage, 'spam'>,
  refused: string[] = [],
  domainFor: (address: string) => Promise<Domain | null> = (a) => receivingDomain(repos, a),
): Promise<AccountPlan[]> {
  const plans = new Map<string, AccountPlan>();
  const routesCache = new Map<string, Route[]>();
  for (const address of rcptTo) {
    const domain = await domainFor(address);
    // The domain was removed or unverified between RCPT and DATA: nobody owns this recipient now.
    if (!domain) continue;
    let routes = routesCache.get(domain.id);
    if (!routes) routesCache.set(domain.id, (routes = await repos.routes.enabledForDomain(domain.id)));
    const { fired, refused: refusedHere } = routesForRecipient(routes, address, parsed);
    if (refusedHere) {
      refused.push(address);
      continue;
    }
    let plan = plans.get(domain.userId);
    if (!plan) {
      plan = { userId: domain.userId, domainId: domain.id, recipients: [], deliveries: [], forwards: [], keep: false };
      plans.set(domain.userId, plan);
    }
    plan.recipients.push({ address, domainId: domain.id });
    const add = (d: PlannedDelivery) => {
      // A route (or a domain's catch-all) fires once per message, however many recipients it matched.
      if (!plan.deliveries.some((x) => x.routeId === d.routeId && x.domainId === d.domainId && x.url === d.url)) plan.deliveries.push(d);
    };
    for (const { route } of fired) {
      if (route.action === 'webhook' && route.destination && route.secret) {
        add({ routeId: route.id, domainId: domain.id, url: route.destination, secret: route.secret, payload: route.payload ?? 'json' });
      }
      // The loop guard: a message this route already forwarded (its mark is in the headers) is kept, not sent again.
      if (route.action === 'forward' && route.destination && !alreadyForwarded(parsed, route.id) && !plan.forwards.some((f) => f.routeId === route.id)) {
        plan.forwards.push({ routeId: route.id, domainId: domain.id, domainName: domain.name, to: route.destination.toLowerCase() });
      }
    }
    if (fired.length === 0 && domain.webhookUrl && domain.webhookSecret) {
      add({ routeId: null, domainId: domain.id, url: domain.webhookUrl, secret: domain.webhookSecret, payload: domain.webhookPayload });
    }
    if (fired.length === 0 || fired.some(({ route }) => route.action !== 'drop')) plan.keep = true;
  }
  return [...plans.values()];
}
