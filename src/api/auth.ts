import { createRoute, z } from '@hono/zod-openapi';
import { burnPasswordCheck, hashPassword, PASSWORD_MAX, PASSWORD_MIN, verifyPassword } from '../auth/passwords.js';
import { normaliseEmail } from '../auth/email.js';
import { createSession } from '../auth/sessions.js';
import type { User } from '../db/users.js';
import type { Deps } from '../deps.js';
import { HttpError } from '../errors.js';
import { newId } from '../ids.js';
import { requireSession } from './guard.js';
import { clientIp, tooMany, type Limits } from './limits.js';
import { bearer, errors, json, jsonBody, router } from './openapi.js';
import { isUniqueViolation } from '../db/repository.js';

export const UserSchema = z
  .object({ id: z.string(), email: z.string(), google_linked: z.boolean(), created_at: z.number().int() })
  .openapi('User');
export const SessionSchema = z.object({ token: z.string().openapi({ example: 'mhs_…' }), user: UserSchema }).openapi('Session');

export const userJson = (u: User) => ({ id: u.id, email: u.email, google_linked: u.googleSub !== null, created_at: u.createdAt });

const Credentials = z.object({
  email: z.string().max(320).openapi({ example: 'you@example.com' }),
  password: z.string().max(PASSWORD_MAX),
});

const signup = createRoute({
  method: 'post',
  path: '/signup',
  tags: ['auth'],
  request: { body: jsonBody(Credentials.extend({ password: z.string().min(PASSWORD_MIN).max(PASSWORD_MAX) })) },
  responses: { 201: json(SessionSchema, 'Account created, signed in'), ...errors(400, 409, 413, 429) },
});
const login = createRoute({
  method: 'post',
  path: '/login',
  tags: ['auth'],
  request: { body: jsonBody(Credentials.extend({ password: z.string().min(1).max(PASSWORD_MAX) })) },
  responses: { 200: json(SessionSchema, 'Signed in'), ...errors(400, 401, 413, 429) },
});
const logout = createRoute({
  method: 'post',
  path: '/logout',
  tags: ['auth'],
  security: bearer,
  responses: { 204: { description: 'Session ended' }, ...errors(401, 403) },
});
const me = createRoute({
  method: 'get',
  path: '/me',
  tags: ['auth'],
  security: bearer,
  responses: { 200: json(z.object({ user: UserSchema }), 'The signed-in user'), ...errors(401, 403) },
});

function emailOrThrow(input: string): string {
  const email = normaliseEmail(input);
  if (!email) throw new HttpError(400, 'email: not a valid email address');
  return email;
}

/** POST /api/auth/signup, /login, /logout, GET /api/auth/me. */
export function authRoutes(deps: Deps, limits: Limits) {
  const r = router();
  r.use('/logout', requireSession);
  r.use('/me', requireSession);

  r.openapi(signup, async (c) => {
    const body = c.req.valid('json');
    const email = emailOrThrow(body.email);
    const wait = await limits.signupPerIp.take(clientIp(c, deps.config.trustProxy));
    if (wait > 0) throw tooMany(wait, 'sign-ups from this address');
    // Hashed before the look-up: a 409 costs the same scrypt as a sign-up, so its timing does not
    // tell which emails have accounts faster than the sign-up throttle above lets anyone ask.
    const passwordHash = await hashPassword(body.password);
    if (await deps.repos.users.getByEmail(email)) throw new HttpError(409, 'an account with this email already exists');
    let user: User;
    try {
      user = await deps.repos.users.insert({ id: newId('usr'), email, passwordHash, googleSub: null, createdAt: deps.now() });
    } catch (err) {
      // Two sign-ups raced past the check above; the UNIQUE index decided.
      if (isUniqueViolation(err)) throw new HttpError(409, 'an account with this email already exists');
      throw err;
    }
    return c.json({ token: await createSession(deps, user.id), user: userJson(user) }, 201);
  });

  r.openapi(login, async (c) => {
    const body = c.req.valid('json');
    const email = normaliseEmail(body.email) ?? body.email.trim().toLowerCase();
    const ip = clientIp(c, deps.config.trustProxy);
    // Counted before the (slow) check, each in one step (take: check and count, atomic on every
    // node), so a burst of parallel guesses cannot all slip past the limit. A refused guess is
    // not counted: whichever throttle it got past takes it back.
    const [perAccount, perIp] = await Promise.all([limits.loginPerAccount.take(email), limits.loginPerIp.take(ip)]);
    if (perAccount > 0 || perIp > 0) {
      await Promise.all([perAccount === 0 && limits.loginPerAccount.unrecord(email), perIp === 0 && limits.loginPerIp.unrecord(ip)]);
      throw tooMany(Math.max(perAccount, perIp), 'failed sign-ins');
    }
    const user = await deps.repos.users.getByEmail(email);
    const ok = user?.passwordHash ? await verifyPassword(body.password, user.passwordHash) : await burnPasswordCheck(body.password);
    // One answer for "no such account" and "wrong password": the response must not reveal which.
    if (!ok || !user) throw new HttpError(401, 'invalid email or password');
    await Promise.all([limits.loginPerAccount.reset(email), limits.loginPerIp.unrecord(ip)]);
    return c.json({ token: await createSession(deps, user.id), user: userJson(user) }, 200);
  });

  r.openapi(logout, async (c) => {
    await deps.repos.sessions.delete(c.get('auth').credentialId);
    return c.body(null, 204);
  });

  r.openapi(me, (c) => c.json({ user: userJson(c.get('auth').user) }, 200));
  return r;
}
