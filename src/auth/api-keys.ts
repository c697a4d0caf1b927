import type { ApiKey } from '../db/api-keys.js';
import type { User } from '../db/users.js';
import type { Deps } from '../deps.js';
import { newId } from '../ids.js';
import { newToken, sha256Hex } from './secrets.js';
import { TOUCH_INTERVAL_MS } from './sessions.js';

export const SCOPES = [
  'domains:read',
  'domains:write',
  'routes:read',
  'routes:write',
  'messages:read',
  'messages:write',
  'deliveries:read',
  'deliveries:write',
  'send',
  '*',
] as const;
export type Scope = (typeof SCOPES)[number];

/** `mhk_` and 8 characters: enough to tell keys apart in a list, far too few to guess the rest. */
const VISIBLE_PREFIX = 12;

export function hasScope(granted: readonly string[], needed: Scope): boolean {
  return granted.includes('*') || granted.includes(needed);
}

/** Makes a key; `secret` is the only time the full key exists outside the caller's hands. */
export async function createApiKey(
  deps: Deps,
  input: { userId: string; name: string; scopes: Scope[]; domainId: string | null },
): Promise<{ key: ApiKey; secret: string }> {
  const now = deps.now();
  const secret = newToken('mhk_');
  const key: ApiKey = {
    id: newId('key', now),
    userId: input.userId,
    name: input.name,
    prefix: secret.slice(0, VISIBLE_PREFIX),
    keyHash: sha256Hex(secret),
    scopes: [...new Set(input.scopes)],
    domainId: input.domainId,
    createdAt: now,
    lastUsedAt: null,
    revokedAt: null,
  };
  await deps.repos.apiKeys.insert(key);
  return { key, secret };
}

/** The live key with its user; null when unknown or revoked (checked on every request). */
export async function findApiKey(deps: Deps, secret: string): Promise<{ key: ApiKey; user: User } | null> {
  const key = await deps.repos.apiKeys.getByKeyHash(sha256Hex(secret));
  if (!key || key.revokedAt !== null) return null;
  const user = await deps.repos.users.get(key.userId);
  if (!user) return null;
  const now = deps.now();
  if (key.lastUsedAt === null || now - key.lastUsedAt >= TOUCH_INTERVAL_MS) await deps.repos.apiKeys.touch(key.id, now);
  return { key, user };
}
