import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { newWebhookSecret, signatureHeaders } from '../../src/deliver/sign.js';

const body = JSON.stringify({ type: 'email.received', data: { subject: 'Grüße ✓' } });

describe('webhook signatures', () => {
  it('verify with the public standardwebhooks library', () => {
    const secret = newWebhookSecret();
    const headers = signatureHeaders(secret, 'dlv_0123', Math.floor(Date.now() / 1000), body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('signs the bytes sent: a Buffer body gives the same headers as its UTF-8 string', () => {
    const secret = newWebhookSecret();
    const headers = signatureHeaders(secret, 'dlv_0123', 1763890000, Buffer.from(body, 'utf8'));
    expect(headers).toEqual(signatureHeaders(secret, 'dlv_0123', 1763890000, body));
  });

  it('fail verification when the body, the id or the secret differ', () => {
    const secret = newWebhookSecret();
    const headers = signatureHeaders(secret, 'dlv_0123', Math.floor(Date.now() / 1000), body);
    expect(() => new Webhook(secret).verify(body + ' ', headers)).toThrow();
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'dlv_other' })).toThrow();
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow();
  });

  it('puts the delivery id and the time in seconds in the headers', () => {
    const headers = signatureHeaders(newWebhookSecret(), 'dlv_abc', 1763890000, body);
    expect(headers['webhook-id']).toBe('dlv_abc');
    expect(headers['webhook-timestamp']).toBe('1763890000');
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
  });

  it('x-mailhook-signature is hex HMAC-SHA256 of the body keyed with the whole secret string', () => {
    const secret = newWebhookSecret();
    const headers = signatureHeaders(secret, 'dlv_abc', 1763890000, body);
    const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(Buffer.from(body, 'utf8')).digest('hex');
    expect(headers['x-mailhook-signature']).toBe(`sha256=${expected}`);
  });

  it('makes whsec_ secrets of 24 random bytes', () => {
    const a = newWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(24);
    expect(newWebhookSecret()).not.toBe(a);
  });
});
