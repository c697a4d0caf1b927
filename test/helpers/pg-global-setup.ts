import type { TestProject } from 'vitest/node';
import { openPgRepository } from '../../src/db/pg/repository.js';
import { startPgCluster } from './pg-cluster.js';
import { startS3Server } from './s3-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** postgres://… of the cluster's `postgres` database, for CREATE/DROP DATABASE. */
    pgAdminUrl: string;
    /** A migrated database every test database is copied from (CREATE DATABASE … TEMPLATE). */
    pgTemplate: string;
    /** The S3_* variables of the project's one s3rver. */
    s3Env: Record<string, string>;
  }
}

/**
 * The `postgres` project of the test matrix (issue 15): ONE throwaway cluster and ONE s3rver for
 * the whole run, not one per file. The schema is migrated once into a template database, so each
 * testDeps() gets a fresh, already migrated database by copying it (fast, and no migration per test).
 */
export default async function setup(project: TestProject) {
  const cluster = await startPgCluster();
  const s3 = await startS3Server('mailhook-matrix');
  const template = 'mailhook_template';
  const admin = cluster.url('postgres');
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${template}`);
  await client.end();
  const repos = await openPgRepository(cluster.url(template));
  await repos.close();
  project.provide('pgAdminUrl', admin);
  project.provide('pgTemplate', template);
  project.provide('s3Env', s3.env);
  return async () => {
    await s3.close();
    cluster.stop();
  };
}
