import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildEmailReceived, buildTestEvent } from '../../src/deliver/payload.js';
import { checkLink } from '../../src/store/signed-links.js';
import { fakeClock, seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { seedDelivery, seedMessage } from './seed.js';

const sorted = (o: object) => Object.keys(o).sort();

describe('email.received payload', () => {
  let deps: TestDeps;
  let domains = 0;
  beforeEach(() => {
    domains = 0;
    deps = testDeps({ PUBLIC_URL: 'https://mailhook.example.net' }, { now: fakeClock().now });
  });
  afterEach(() => deps.cleanup());

  async function build(opts: Parameters<typeof seedMessage>[2] = {}) {
    const { user, domain } = await seedUserAndDomain(deps, domains++ === 0 ? 'example.com' : `d${domains}.example.com`);
    const { message, attachments } = await seedMessage(deps, { userId: user.id, domainId: domain.id }, opts);
    const delivery = await seedDelivery(deps, { userId: user.id, messageId: message.id, url: 'https://hooks.test/in', routeId: 'rte_x' });
    const event = buildEmailReceived({ config: deps.config, message, attachments, delivery, domain: domain.name });
    // What the receiver gets is JSON: compare what survives a round trip.
    return { message, delivery, event: JSON.parse(JSON.stringify(event)) };
  }

  it('has exactly the fields of DESIGN §6', async () => {
    const { event } = await build({ attachments: 1 });
    expect(sorted(event)).toEqual(['data', 'timestamp', 'type']);
    expect(sorted(event.data)).toEqual(
      [
        'id', 'domain', 'route_id', 'envelope', 'from', 'to', 'cc', 'reply_to', 'subject', 'date', 'message_id',
        'in_reply_to', 'references', 'headers', 'text', 'html', 'reply', 'auth', 'attachments', 'raw_url', 'size', 'received_at',
      ].sort(),
    );
    expect(sorted(event.data.envelope)).toEqual(['helo', 'mail_from', 'rcpt_to', 'remote_ip', 'tls']);
    expect(sorted(event.data.from)).toEqual(['address', 'name']);
    expect(sorted(event.data.auth)).toEqual(['dkim', 'dmarc', 'spf']);
    expect(sorted(event.data.headers[0])).toEqual(['name', 'value']);
    expect(sorted(event.data.attachments[0])).toEqual(
      ['content_id', 'content_type', 'filename', 'index', 'sha256', 'size', 'url'].sort(),
    );
  });

  it('carries the stored message, envelope and delivery', async () => {
    const { event, message, delivery } = await build();
    expect(event.type).toBe('email.received');
    expect(event.timestamp).toBe(delivery.createdAt);
    expect(event.data).toMatchObject({
      id: message.id,
      domain: 'example.com',
      route_id: 'rte_x',
      envelope: { mail_from: 'alice@sender.test', rcpt_to: ['support@example.com'], helo: 'mail.sender.test', remote_ip: '203.0.113.7', tls: true },
      from: { address: 'alice@sender.test', name: 'Alice' },
      to: [{ address: 'support@example.com', name: 'Support' }],
      cc: [{ address: 'bob@sender.test', name: '' }],
      reply_to: [{ address: 'replies@sender.test', name: 'Replies' }],
      subject: 'Order #42',
      date: Date.UTC(2026, 10, 23, 11, 59, 0),
      message_id: '<42@sender.test>',
      in_reply_to: '<41@sender.test>',
      references: ['<40@sender.test>', '<41@sender.test>'],
      headers: [{ name: 'From', value: 'Alice <alice@sender.test>' }, { name: 'Subject', value: 'Order #42' }],
      text: 'Hello\n',
      html: '<p>Hello</p>',
      auth: { spf: 'pass', dkim: 'pass', dmarc: 'pass' },
      attachments: [],
      size: 4321,
      received_at: message.receivedAt,
    });
  });

  it('links every attachment and the raw message with valid signed URLs on PUBLIC_URL', async () => {
    const { event, message } = await build({ attachments: 2 });
    const links = [...event.data.attachments.map((a: { url: string }) => a.url), event.data.raw_url];
    expect(event.data.attachments.map((a: { index: number }) => a.index)).toEqual([0, 1]);
    expect(event.data.attachments[0]).toMatchObject({
      filename: 'invoice-0.pdf', content_type: 'application/pdf', size: 1000, sha256: '0'.repeat(64), content_id: '<logo@example.com>',
    });
    const targets = links.map((link: string) => {
      const u = new URL(link);
      expect(u.origin).toBe('https://mailhook.example.net');
      const [, att, mid, idx] = u.pathname.split('/');
      expect([att, mid]).toEqual(['att', message.id]);
      const check = checkLink(deps.config.secret, mid!, idx!, u.searchParams.get('exp') ?? undefined, u.searchParams.get('sig') ?? undefined, deps.now());
      return check.ok ? check.target : check.status;
    });
    expect(targets).toEqual([0, 1, 'raw']);
  });

  it('fills auth fields the stored results lack with empty strings and leaves arc out', async () => {
    expect((await build({ auth: {} })).event.data.auth).toEqual({ spf: '', dkim: '', dmarc: '' });
    const partial = (await build({ auth: { spf: 'fail' } as never })).event.data.auth;
    expect(partial).toEqual({ spf: 'fail', dkim: '', dmarc: '' });
  });

  it('is the same on every build, so every attempt sends the same body', async () => {
    const { user, domain } = await seedUserAndDomain(deps, 'other.test');
    const { message, attachments } = await seedMessage(deps, { userId: user.id, domainId: domain.id }, { attachments: 1 });
    const delivery = await seedDelivery(deps, { userId: user.id, messageId: message.id, url: 'https://hooks.test/in' });
    const once = () => JSON.stringify(buildEmailReceived({ config: deps.config, message, attachments, delivery, domain: domain.name }));
    const first = once();
    expect(once()).toBe(first);
    expect(JSON.parse(first).data.route_id).toBeNull();
  });
});

describe('webhook.test event', () => {
  it('names the domain', () => {
    expect(buildTestEvent('example.com', 1763890000000)).toEqual({
      type: 'webhook.test',
      timestamp: 1763890000000,
      data: { domain: 'example.com' },
    });
  });
});
