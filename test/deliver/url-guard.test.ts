import http from 'node:http';
import type { LookupAddress } from 'node:dns';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpError } from '../../src/errors.js';
import { assertWebhookUrl, guardedLookup, isForbiddenAddress, type ForbiddenAddressError } from '../../src/net/url-guard.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

describe('isForbiddenAddress', () => {
  const forbidden: [string, string][] = [
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback /8'],
    ['::1', 'IPv6 loopback'],
    ['10.1.2.3', 'RFC 1918'],
    ['172.16.0.1', 'RFC 1918'],
    ['172.31.255.255', 'RFC 1918'],
    ['192.168.1.1', 'RFC 1918'],
    ['100.64.0.1', 'CGNAT'],
    ['100.127.255.255', 'CGNAT'],
    ['169.254.1.1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['fe80::1', 'IPv6 link-local'],
    ['fe80::1%eth0', 'zoned link-local'],
    ['febf::1', 'fe80::/10 upper end'],
    ['fd00:ec2::254', 'AWS IPv6 metadata'],
    ['fc00::1', 'unique local'],
    ['fdff:ffff::1', 'unique local'],
    ['0.0.0.0', 'this network'],
    ['0.1.2.3', '0.0.0.0/8'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'IPv6 multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['::', 'unspecified'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['::ffff:169.254.169.254', 'IPv4-mapped metadata'],
    ['64:ff9b::7f00:1', 'NAT64 of loopback'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 of metadata'],
    ['2002:7f00:1::', '6to4 of loopback'],
    ['2002:c0a8:101::1', '6to4 of 192.168.1.1'],
    ['::127.0.0.1', 'IPv4-compatible'],
    ['2001:db8::1', 'documentation'],
    ['[::1]', 'bracketed'],
    ['2130706433', 'decimal 127.0.0.1'],
    ['0177.0.0.1', 'octal 127.0.0.1'],
    ['0x7f.1', 'hex 127.0.0.1'],
    ['0x7f000001', 'hex 127.0.0.1, one part'],
    ['127.1', 'short 127.0.0.1'],
    ['017700000001', 'octal, one part'],
    ['localhost', 'not an IP: fails closed'],
    ['', 'empty'],
    ['1.2.3.4.5', 'not an IP'],
  ];
  it.each(forbidden)('refuses %s (%s)', (ip) => expect(isForbiddenAddress(ip)).toBe(true));

  const allowed = ['93.184.216.34', '8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '192.169.0.1', '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e', '64:ff9b::808:808', '::ffff:8.8.8.8', '2002:808:808::1'];
  it.each(allowed)('allows public %s', (ip) => expect(isForbiddenAddress(ip)).toBe(false));
});

describe('assertWebhookUrl', () => {
  const strict = { allowInsecure: false };
  const refused: [string, RegExp][] = [
    ['not a url', /not a valid absolute URL/],
    ['/relative/path', /not a valid absolute URL/],
    ['ftp://example.com/hook', /https/],
    ['javascript:alert(1)', /https/],
    ['file:///etc/passwd', /https/],
    ['http://example.com/hook', /https/],
    ['https://user:pass@example.com/hook', /user name or password/],
    ['https://user@example.com/hook', /user name or password/],
    ['https://127.0.0.1/hook', /127\.0\.0\.1.*loopback/],
    ['https://2130706433/hook', /127\.0\.0\.1/],
    ['https://0177.0.0.1/hook', /127\.0\.0\.1/],
    ['https://0x7f.1/hook', /127\.0\.0\.1/],
    ['https://127.1/hook', /127\.0\.0\.1/],
    ['https://[::1]/hook', /::1/],
    ['https://[::ffff:127.0.0.1]/hook', /IPv4-mapped/],
    ['https://169.254.169.254/latest/meta-data/', /metadata/],
    ['https://[fd00:ec2::254]/', /metadata/],
    ['https://10.0.0.8:8443/hook', /private/],
    ['https://100.64.1.1/', /carrier-grade NAT/],
    ['https://[fe80::1]/', /link-local/],
    ['https://0.0.0.0/', /this network/],
    ['https://' + 'a'.repeat(2100) + '.com/', /longer than/],
  ];
  it.each(refused)('refuses %s', (url, message) => {
    let thrown: unknown;
    try {
      assertWebhookUrl(url, strict);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(HttpError);
    expect((thrown as HttpError).status).toBe(400);
    expect((thrown as HttpError).message).toMatch(message);
  });

  it.each(['https://example.com/hook', 'https://hooks.example.com:8443/in?x=1', 'https://93.184.216.34/', 'https://[2606:4700::1111]/'])(
    'accepts %s',
    (url) => expect(() => assertWebhookUrl(url, strict)).not.toThrow(),
  );

  it('with ALLOW_INSECURE_WEBHOOKS accepts http and local addresses, but still no other schemes or credentials', () => {
    const insecure = { allowInsecure: true };
    expect(() => assertWebhookUrl('http://127.0.0.1:8080/hook', insecure)).not.toThrow();
    expect(() => assertWebhookUrl('http://localhost/hook', insecure)).not.toThrow();
    expect(() => assertWebhookUrl('ftp://127.0.0.1/', insecure)).toThrow(HttpError);
    expect(() => assertWebhookUrl('http://u:p@127.0.0.1/', insecure)).toThrow(/user name/);
  });
});

describe('guardedLookup (connect time)', () => {
  let receiver: WebhookReceiver | undefined;
  afterEach(async () => receiver?.close());

  it('refuses a host name that resolves to loopback, before any byte is sent', async () => {
    receiver = await startWebhookReceiver();
    const port = new URL(receiver.url).port;
    const err = await new Promise<NodeJS.ErrnoException>((resolve, reject) => {
      const req = http.request({ host: 'localhost', port, method: 'POST', lookup: guardedLookup }, () => reject(new Error('connected')));
      req.on('error', resolve);
      req.end('{}');
    });
    expect(err.code).toBe('EFORBIDDENADDRESS');
    expect(err.message).toBe('refused: the address is not public');
    expect((err as ForbiddenAddressError).detail).toMatch(/localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
    expect(receiver.requests).toHaveLength(0);
  });

  it('passes public addresses through, in both the single and the all form', async () => {
    const one = await new Promise<[string, number | undefined]>((resolve, reject) =>
      guardedLookup('8.8.8.8', {}, (err, address, family) => (err ? reject(err) : resolve([address as string, family]))),
    );
    expect(one).toEqual(['8.8.8.8', 4]);
    const all = await new Promise<LookupAddress[]>((resolve, reject) =>
      guardedLookup('2606:4700::1111', { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses as LookupAddress[]))),
    );
    expect(all).toEqual([{ address: '2606:4700::1111', family: 6 }]);
  });
});
