import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { createDeps, type Deps } from '../../src/deps.js';
import type { Db } from '../../src/db/open.js';
import type { Route } from '../../src/db/routes.js';
import { inject } from 'vitest';
import { sqliteTables, type SqliteTables } from '../../src/db/sqlite-tables.js';
import { newId } from '../../src/ids.js';
import { pgBinDir } from './pg-cluster.js';
import { S3RVER_CREDENTIALS } from './s3-server.js';

/**
 * The engine this run tests (the `postgres` project of vitest.config.ts sets it): the API, e2e corpus
 * and deliver suites run on both engines without a copy of the tests (issue 15).
 */
export const engine: 'sqlite' | 'postgres' = process.env.MAILHOOK_TEST_ENGINE === 'postgres' ? 'postgres' : 'sqlite';

let databases = 0;
/** SQL on the matrix cluster's admin database, synchronously (testDeps is synchronous). */
function psql(adminUrl: string, sql: string): void {
  execFileSync(join(pgBinDir(), 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', adminUrl, '-c', sql], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** On PostgreSQL: a fresh database copied from the migrated template, and the S3 settings of the shared s3rver. */
function postgresEnv(): { env: Record<string, string>; drop(): void } {
  const { adminUrl, template, s3Env } = matrixContext();
  const name = `t_${process.pid}_${++databases}_${Date.now().toString(36)}`;
  psql(adminUrl, `CREATE DATABASE ${name} TEMPLATE ${template}`);
  process.env.AWS_ACCESS_KEY_ID ??= S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY ??= S3RVER_CREDENTIALS.secretAccessKey;
  return {
    env: { ...s3Env, DATABASE_URL: adminUrl.replace(/\/postgres$/, `/${name}`) },
    drop: () => psql(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** What test/helpers/pg-global-setup.ts provides (only in the postgres project). */
function matrixContext() {
  const adminUrl = inject('pgAdminUrl');
  const template = inject('pgTemplate');
  const s3Env = inject('s3Env');
  if (!adminUrl || !template || !s3Env) throw new Error('MAILHOOK_TEST_ENGINE=postgres needs the globalSetup of the postgres project (npx vitest run --project postgres)');
  return { adminUrl, template, s3Env };
}

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

/** Deps on the engine of this run: `db` is there for the tests that are about SQLite itself. */
export interface TestDeps extends Deps {
  /** SQLite only: on PostgreSQL reading it throws, so a matrix test that reaches into SQLite fails loudly. */
  db: Db;
  cleanup(): Promise<void>;
}

/** Fresh deps on a temporary DATA_DIR. `env` overrides configuration variables. */
export function testDeps(env: Record<string, string> = {}, opts: { now?: () => number } = {}): TestDeps {
  const dir = mkdtempSync(join(tmpdir(), 'mailhook-test-'));
  const pgRun = engine === 'postgres' && !('DATABASE_URL' in env) ? postgresEnv() : null;
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
    ...pgRun?.env,
    ...env,
  });
  const deps = createDeps(config, { now: opts.now });
  const db = deps.db;
  return {
    ...deps,
    get db(): Db {
      if (!db) throw new Error('deps.db is SQLite-only and this run is on PostgreSQL: go through deps.repos, or mark the test SQLite-specific');
      return db;
    },
    async cleanup() {
      await deps.repos.close();
      pgRun?.drop();
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
