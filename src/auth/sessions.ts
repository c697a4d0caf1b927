import type { Session } from '../db/sessions.js';
import type { User } from '../db/users.js';
import type { Deps } from '../deps.js';
import { newId } from '../ids.js';
import { newToken, sha256Hex } from './secrets.js';

/** Fixed, not sliding: a stolen token stops working after this whatever its use. */
export const SESSION_LIFETIME_MS = 30 * 24 * 60 * 60 * 1000;

/** last_used_at is written at most this often: a commit (fsync) per request would be waste. */
export const TOUCH_INTERVAL_MS = 60 * 1000;

/** Starts a session; the token is returned once and only its hash is kept. */
export function createSession(deps: Deps, userId: string): string {
  const now = deps.now();
  const token = newToken('mhs_');
  deps.repos.sessions.deleteExpired(userId, now);
  deps.repos.sessions.insert({
    id: newId('ses', now),
    userId,
    tokenHash: sha256Hex(token),
    createdAt: now,
    expiresAt: now + SESSION_LIFETIME_MS,
    lastUsedAt: now,
  });
  return token;
}

/** The live session a token belongs to, with its user; null when unknown, expired or revoked. */
export function findSession(deps: Deps, token: string): { session: Session; user: User } | null {
  const session = deps.repos.sessions.getByTokenHash(sha256Hex(token));
  if (!session) return null;
  const now = deps.now();
  if (session.expiresAt <= now) {
    deps.repos.sessions.delete(session.id);
    return null;
  }
  const user = deps.repos.users.get(session.userId);
  if (!user) return null;
  if (session.lastUsedAt === null || now - session.lastUsedAt >= TOUCH_INTERVAL_MS) deps.repos.sessions.touch(session.id, now);
  return { session, user };
}
