import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { createDeps, type Deps } from '../../src/deps.js';
import type { Db } from '../../src/db/open.js';
import type { Route } from '../../src/db/routes.js';
import { sqliteTables, type SqliteTables } from '../../src/db/sqlite-tables.js';
import { newId } from '../../src/ids.js';

/** A clock the test moves by hand. */
export interface FakeClock {
  now: () => number;
  set(ms: number): void;
  advance(ms: number): void;
}

export function fakeClock(start = Date.UTC(2026, 10, 23, 12, 0, 0)): FakeClock {
  let t = start;
  return {
    now: () => t,
    set: (ms) => {
      t = ms;
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

/** Deps on SQLite: `db` is there for the tests that are about SQLite itself. */
export interface TestDeps extends Deps {
  db: Db;
  cleanup(): void;
}

/** Fresh deps on a temporary DATA_DIR. `env` overrides configuration variables. */
export function testDeps(env: Record<string, string> = {}, opts: { now?: () => number } = {}): TestDeps {
  const dir = mkdtempSync(join(tmpdir(), 'mailhook-test-'));
  const config: Readonly<Config> = loadConfig({
    DATA_DIR: dir,
    SECRET: 'test-secret-test-secret-test-secret-0123456789',
    SMTP_PORT: '0',
    HTTP_PORT: '0',
    PUBLIC_URL: 'http://127.0.0.1:3000',
    MX_HOST: 'mx.mailhook.test',
    ALLOW_INSECURE_WEBHOOKS: 'true',
    AUTH_CHECKS: 'false',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const deps = createDeps(config, { now: opts.now });
  const db = deps.db!;
  return {
    ...deps,
    db,
    cleanup() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A user with one verified domain, written straight to the database. */
export async function seedUserAndDomain(deps: Deps, domainName = 'example.com', opts: { webhookUrl?: string } = {}) {
  const now = deps.now();
  const user = await deps.repos.users.insert({
    id: newId('usr'),
    email: `owner-${Math.random().toString(36).slice(2)}@owner.test`,
    passwordHash: null,
    googleSub: null,
    createdAt: now,
  });
  const domain = {
    id: newId('dom'),
    userId: user.id,
    name: domainName,
    status: 'verified' as const,
    verificationToken: 'tok',
    verifiedAt: now,
    webhookUrl: opts.webhookUrl ?? null,
    webhookSecret: opts.webhookUrl ? 'whsec_' + Buffer.from('catch-all-secret-0123456789').toString('base64') : null,
    createdAt: now,
  };
  await deps.repos.domains.insert(domain);
  return { user, domain: (await deps.repos.domains.get(user.id, domain.id))! };
}

/** Inserts a route straight into the database: a `store` route for `*@example.com` unless `r` says otherwise. */
export async function addRoute(deps: Deps, owner: { userId: string; domainId: string }, r: Partial<Route> = {}): Promise<Route> {
  const route = newRoute(deps, owner, r);
  await deps.repos.routes.insert(route);
  return route;
}

/** The route addRoute inserts, not inserted. */
export function newRoute(deps: Pick<Deps, 'now'>, owner: { userId: string; domainId: string }, r: Partial<Route> = {}): Route {
  const now = deps.now();
  return {
    id: newId('rte'),
    userId: owner.userId,
    domainId: owner.domainId,
    match: '*@example.com',
    action: 'store',
    destination: null,
    secret: null,
    priority: 100,
    stop: false,
    filters: null,
    enabled: true,
    createdAt: now,
    updatedAt: now,
    ...r,
  };
}

const tablesOf = new WeakMap<Db, SqliteTables>();
/** SQLite's synchronous statements, for tests about SQLite itself (query plans, seeding many rows in one transaction). */
export function sqliteOf(deps: { db?: Db }): SqliteTables {
  const db = deps.db!;
  let t = tablesOf.get(db);
  if (!t) tablesOf.set(db, (t = sqliteTables(db)));
  return t;
}
