import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { addRoute, seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';

/**
 * SMTP_GREETING_DELAY_MS (DESIGN §2: smtp-server's early-talker delay stays configurable;
 * src/smtp/greeting-delay.ts). smtp-server alone waits a fixed 100 ms.
 */
interface Session {
  /** ms from connect to the 220 banner, or null if none came. */
  bannerAt: number | null;
  text: string;
  closed: boolean;
}

/** Connects; after `talkAfterMs` (if given) sends EHLO whether or not the banner came; collects until close or `ms`. */
function session(port: number, ms: number, talkAfterMs?: number): Promise<Session> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const s: Session = { bannerAt: null, text: '', closed: false };
    const socket = net.connect(port, '127.0.0.1');
    socket.on('data', (d) => {
      s.text += d.toString();
      if (s.bannerAt === null && /^220 /m.test(s.text)) s.bannerAt = performance.now() - t0;
    });
    socket.on('error', () => undefined);
    if (talkAfterMs !== undefined) socket.on('connect', () => setTimeout(() => socket.write('EHLO early.test\r\n'), talkAfterMs));
    const done = setTimeout(() => {
      socket.destroy();
      resolve(s);
    }, ms);
    socket.on('close', () => {
      clearTimeout(done);
      s.closed = true;
      resolve(s);
    });
  });
}

describe('SMTP_GREETING_DELAY_MS', () => {
  let deps: TestDeps | undefined;
  let smtp: RunningSmtp | undefined;
  afterEach(async () => {
    await smtp?.close();
    await deps?.cleanup();
    smtp = deps = undefined;
  });

  const start = async (env: Record<string, string> = {}) => {
    deps = testDeps(env);
    const { user, domain } = await seedUserAndDomain(deps);
    await addRoute(deps, { userId: user.id, domainId: domain.id });
    smtp = await startSmtp(deps);
    return smtp.port;
  };

  it('holds the banner for the configured time and refuses a client that talks before it (421, closed, nothing stored)', async () => {
    const port = await start({ SMTP_GREETING_DELAY_MS: '1500' });
    const patient = await session(port, 2500);
    expect(patient.bannerAt, patient.text).not.toBeNull();
    expect(patient.bannerAt!).toBeGreaterThanOrEqual(1400);

    // At 500 ms smtp-server's own 100 ms would have greeted already and answered EHLO with 250.
    const early = await session(port, 2500, 500);
    expect(early.text).toMatch(/^421 .*You talk too soon/m);
    expect(early.text).not.toMatch(/^250/m);
    expect(early.closed).toBe(true);
    expect(deps!.db.prepare('SELECT COUNT(*) AS n FROM messages').get()).toEqual({ n: 0 });
  });

  it('defaults to smtp-server’s 100 ms: the banner comes after it, mail goes through', async () => {
    const port = await start();
    const s = await session(port, 1000);
    expect(s.bannerAt!).toBeGreaterThanOrEqual(90);
    const early = await session(port, 1000, 0);
    expect(early.text).toMatch(/^421 .*You talk too soon/m);
    const info = await smtp!.transport.sendMail({ from: 'a@sender.test', to: 'x@example.com', subject: 'after the banner', text: 'hi' });
    expect(info.response).toMatch(/^250 /);
  });

  it('keeps smtp-server’s connection cap (the replaced start of a connection checks it)', async () => {
    const port = await start({ SMTP_GREETING_DELAY_MS: '0', MAX_CONNECTIONS: '1' });
    const first = session(port, 1500);
    await new Promise((r) => setTimeout(r, 200));
    const second = await session(port, 1500);
    expect(second.text).toMatch(/^421 .*Too many connected clients/m);
    expect((await first).text).toMatch(/^220 /m);
  });

  it('is refused out of range, naming the variable', () => {
    for (const v of ['-1', '30001', 'soon']) {
      expect(() => loadConfig({ DATA_DIR: '/tmp/mailhook-greeting-delay-unused', SMTP_GREETING_DELAY_MS: v })).toThrow(ConfigError);
      expect(() => loadConfig({ DATA_DIR: '/tmp/mailhook-greeting-delay-unused', SMTP_GREETING_DELAY_MS: v })).toThrow(/SMTP_GREETING_DELAY_MS/);
    }
  });
});
