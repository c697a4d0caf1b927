import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../../src/ids.js';
import { addRoute, engine, seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { codes, rawSmtp, startSmtp, type RunningSmtp } from '../helpers/smtp.js';

/**
 * The RCPT-time lookups (domain, routes, sender blocks) are answered from memory on SQLite
 * (src/db/lookup-cache.ts): a change to any of them, whoever makes it, is seen by the next message.
 */
describe('RCPT-time lookups see every change at the next message', () => {
  let deps: TestDeps;
  let smtp: RunningSmtp;
  let owner: { userId: string; domainId: string };

  beforeEach(async () => {
    deps = testDeps();
    const a = await seedUserAndDomain(deps, 'alice.test');
    owner = { userId: a.user.id, domainId: a.domain.id };
    smtp = await startSmtp(deps);
  });
  afterEach(async () => {
    await smtp.close();
    await deps.cleanup();
  });

  /** The reply to RCPT TO for one recipient, from a fresh session. */
  const rcpt = async (to = 'x@alice.test', from = 'someone@sender.test') => {
    const lines = await rawSmtp(smtp.port, `EHLO client.test\r\nMAIL FROM:<${from}>\r\nRCPT TO:<${to}>\r\nQUIT\r\n`);
    return codes(lines).at(-2);
  };

  it('a route added, disabled, enabled and deleted through the repository', async () => {
    expect(await rcpt()).toBe(550); // no route, no catch-all
    const route = await addRoute(deps, owner, { match: '*@alice.test' });
    expect(await rcpt()).toBe(250);
    await deps.repos.routes.update({ ...route, enabled: false });
    expect(await rcpt()).toBe(550);
    await deps.repos.routes.update({ ...route, enabled: true });
    expect(await rcpt()).toBe(250);
    await deps.repos.routes.delete(owner.userId, route.id);
    expect(await rcpt()).toBe(550);
  });

  it('a sender block added and removed, and the domain unverified', async () => {
    await addRoute(deps, owner, { match: '*@alice.test' });
    expect(await rcpt()).toBe(250);
    const id = newId('blk');
    await deps.repos.senderBlocks.insert({ id, userId: owner.userId, domainId: null, pattern: '*@sender.test', createdAt: deps.now() });
    expect(await rcpt()).toBe(550);
    await deps.repos.senderBlocks.delete(owner.userId, id);
    expect(await rcpt()).toBe(250);
    await deps.repos.domains.setStatus(owner.domainId, 'pending', null, null);
    expect(await rcpt()).toBe(550);
  });

  it.skipIf(engine !== 'sqlite')('a change another process commits to the same SQLite file (the CLI, a hand-typed UPDATE)', async () => {
    await addRoute(deps, owner, { match: '*@alice.test' });
    expect(await rcpt()).toBe(250);
    const sql = (statement: string) =>
      execFileSync(process.execPath, [
        '-e',
        `const D = require('better-sqlite3'); const db = new D(process.argv[1]); db.pragma('foreign_keys = ON'); db.exec(process.argv[2]); db.close();`,
        join(deps.config.dataDir, 'mailhook.db'),
        statement,
      ]);
    sql('UPDATE routes SET enabled = 0');
    expect(await rcpt()).toBe(550);
    sql('UPDATE routes SET enabled = 1');
    expect(await rcpt()).toBe(250);
    sql(`UPDATE domains SET status = 'pending'`);
    expect(await rcpt()).toBe(550);
    sql(`UPDATE domains SET status = 'verified'`);
    expect(await rcpt()).toBe(250);
    sql('DELETE FROM users'); // the domain and its routes go with it (ON DELETE CASCADE)
    expect(await rcpt()).toBe(550);
  });
});
