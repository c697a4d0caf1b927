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
export async function createSession(deps: Deps, userId: string): Promise<string> {
  const now = deps.now();
  const token = newToken('mhs_');
  await deps.repos.sessions.deleteExpired(userId, now);
  await deps.repos.sessions.insert({
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
export async function findSession(deps: Deps, token: string): Promise<{ session: Session; user: User } | null> {
  const session = await deps.repos.sessions.getByTokenHash(sha256Hex(token));
  if (!session) return null;
  const now = deps.now();
  if (session.expiresAt <= now) {
    await deps.repos.sessions.delete(session.id);
    return null;
  }
  const user = await deps.repos.users.get(session.userId);
  if (!user) return null;
  if (session.lastUsedAt === null || now - session.lastUsedAt >= TOUCH_INTERVAL_MS) await deps.repos.sessions.touch(session.id, now);
  return { session, user };
}
