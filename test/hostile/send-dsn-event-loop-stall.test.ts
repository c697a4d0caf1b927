import { createHmac } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { bounceWorld, dsn } from '../helpers/bounces.js';

/**
 * A DSN is read on the event loop every SMTP session and API call shares (DESIGN §1 invariant
 * 5): whoever holds one bounce address (any recipient) must not be able to hold it with one
 * report. Runs alone (vitest.config.ts, ALONE), so that the bound measures the server.
 */

const w = bounceWorld();
describe('a DSN of 1 MiB', () => {
  it('a DSN of 1 MiB naming the send\'s 50 recipients over and over: each is bounced once, and the event loop is not held (3.1–4.8 s on main)', async () => {
    const [sender] = await w.setup(['shop.test']);
    const to = Array.from({ length: 50 }, (_, i) => `r${i}@dest.test`);
    const id = await w.send(sender!.token, 'orders@shop.test', to);
    await w.worker.runOnce();
    // A webhook, so that each bounce makes an event too (not posted here).
    await w.api.deps.repos.domains.setWebhook(sender!.domain.id, 'https://hooks.example.test/x', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    // r0's own address (it names r0 alone), then an address as code before 2026-12-07 made it,
    // tagged for the destination (README, "Sending"): that one names all 50.
    const own = w.mx.mails.find((m) => m.rcptTo[0] === to[0])!.mailFrom;
    const tag = createHmac('sha256', `mailhook verp ${w.api.deps.config.secret}`).update(`${id}\ndest.test`).digest('hex').slice(0, 16);
    const shared = `bounce+${id}-${tag}@shop.test`;
    const report = (bounceTo: string) => {
      let r = dsn(bounceTo, to[0]!).replace(/\r\n--B--\r\n$/, '');
      for (let i = 1; r.length < 1024 * 1024 - 200; i++) r += `Final-Recipient: rfc822; ${to[i % 50]}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n`;
      return `${r}--B--\r\n`;
    };
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    await w.smtp.transport.sendMail({ envelope: { from: '', to: [own] }, raw: report(own) });
    const afterOwn = await w.status(id);
    await w.smtp.transport.sendMail({ envelope: { from: '', to: [shared] }, raw: report(shared) });
    h.disable();
    expect(h.max / 1e6).toBeLessThan(500);
    expect(Object.entries(afterOwn).filter(([, s]) => s === 'bounced')).toEqual([[to[0], 'bounced']]);
    expect(Object.values(await w.status(id)).every((s) => s === 'bounced')).toBe(true);
    expect(w.api.deps.db.prepare("SELECT count(*) AS n FROM send_events WHERE type = 'email.bounced'").get()).toEqual({ n: 50 });
  });

});
