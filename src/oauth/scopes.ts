import { SCOPES } from '../auth/api-keys.js';

/** What each scope lets an app do, in the words the consent page shows. */
const PLAIN: Record<string, string> = {
  'domains:read': 'See your domains, their DNS records and catch-all webhooks',
  'domains:write': 'Add, verify and delete your domains and change their catch-all webhooks',
  'routes:read': 'See your routing rules and run dry runs',
  'routes:write': 'Create, change and delete your routing rules',
  'messages:read': 'Read the email your domains receive, attachments included',
  'messages:write': 'Delete received email',
  'deliveries:read': 'See webhook deliveries and their attempt logs',
  'deliveries:write': 'Retry webhook deliveries',
  send: 'Send email from your verified domains, and see what was sent and what bounced',
  '*': 'Everything the API allows: your domains, routes, messages and deliveries, and send email from your domains (never your API keys or apps)',
};

export const describeScope = (scope: string) => PLAIN[scope] ?? scope;

/**
 * The scope parameter (RFC 6749 §3.3: space-delimited, order irrelevant) as a list without
 * repeats; an error message when it is empty or names something that is not an API scope.
 */
export function parseScope(raw: string | undefined): { scopes: string[] } | { error: string } {
  const scopes = [...new Set((raw ?? '').split(' ').filter(Boolean))];
  if (scopes.length === 0) return { error: `scope is required: one or more of ${SCOPES.join(' ')}` };
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown.length) return { error: `unknown scope ${unknown.join(' ')}; the scopes are ${SCOPES.join(' ')}` };
  return { scopes };
}
