import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addRoute, seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';
import { smtpSession } from '../helpers/smtp-session.js';

describe('SMTP drain (graceful stop)', () => {
  let deps: TestDeps;
  let smtp: RunningSmtp;

  beforeAll(async () => {
    deps = testDeps();
    const { user, domain } = await seedUserAndDomain(deps, 'drain.test');
    await addRoute(deps, { userId: user.id, domainId: domain.id }, { match: '*@drain.test' });
    smtp = await startSmtp(deps);
  });
  afterAll(async () => {
    await smtp.close();
    deps.cleanup();
  });

  it('refuses new sessions and new transactions with 421 4.3.2, lets a transaction finish, then resolves', { timeout: 30_000 }, async () => {
    const busy = smtpSession(smtp.port);
    expect(await busy.reply()).toMatch(/^220 /);
    expect(await busy.command('EHLO busy.test')).toMatch(/^250 /);
    expect(await busy.command('MAIL FROM:<a@sender.test>')).toMatch(/^250 /);
    expect(await busy.command('RCPT TO:<x@drain.test>')).toMatch(/^250 /);
    const idle = smtpSession(smtp.port);
    expect(await idle.reply()).toMatch(/^220 /);
    expect(await idle.command('EHLO idle.test')).toMatch(/^250 /);
    const abandoned = smtpSession(smtp.port);
    expect(await abandoned.reply()).toMatch(/^220 /);
    expect(await abandoned.command('EHLO gone.test')).toMatch(/^250 /);
    expect(await abandoned.command('MAIL FROM:<a@sender.test>')).toMatch(/^250 /);

    const started = Date.now();
    const drained = smtp.server.drain(20_000);
    expect(await idle.reply()).toBe('421 4.3.2 Service shutting down, try again later');
    expect(await smtpSession(smtp.port).reply()).toBe('421 4.3.2 Service shutting down, try again later');

    // The transaction in progress is stored and answered 250; that reply is its session's last.
    expect(await busy.command('DATA')).toMatch(/^354 /);
    expect(await busy.command('Subject: during the stop\r\n\r\nstill stored\r\n.')).toMatch(/^250 .*msg_/);
    expect(await busy.reply()).toBe('421 4.3.2 Service shutting down, try again later');
    // A session that dropped its transaction cannot start another.
    expect(await abandoned.command('RSET')).toMatch(/^250 /);
    expect(await abandoned.command('MAIL FROM:<b@sender.test>')).toBe('421 4.3.2 Service shutting down, try again later');

    await drained;
    // Resolved when the last session went, not at the 20 s bound.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(deps.db.prepare('SELECT COUNT(*) AS n FROM messages').get()).toEqual({ n: 1 });
  });
});
