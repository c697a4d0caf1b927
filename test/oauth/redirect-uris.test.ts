import { describe, expect, it } from 'vitest';
import { matchesRegistered, redirectUriProblem, withParams } from '../../src/oauth/redirect-uris.js';

describe('redirect URIs that can be registered', () => {
  it.each([
    'https://app.example/callback',
    'https://app.example:8443/cb?tenant=7',
    'http://127.0.0.1:8080/cb',
    'http://127.0.0.1/cb',
    'http://[::1]:9000/cb',
    'http://localhost:3000/cb',
  ])('%s is accepted', (uri) => {
    expect(redirectUriProblem(uri)).toBeNull();
  });

  it.each([
    ['http://app.example/cb', /https/],
    ['http://192.168.1.5/cb', /https/],
    ['http://localhost.evil.example/cb', /https/],
    ['https://*.app.example/cb', /wildcard/],
    ['https://app.example/cb/*', /wildcard/],
    ['https://app.example/cb#frag', /fragment/],
    ['https://app.example/cb#', /fragment/],
    ['https://user:pw@app.example/cb', /user name/],
    ['javascript:alert(1)', /https/],
    ['com.example.app:/cb', /https/],
    ['/relative/cb', /absolute/],
    ['https://app.example/cb\n', /printable ASCII/],
    ['https://app.example/ cb', /printable ASCII/],
    ['https://bücher.example/cb', /punycode/],
    [`https://app.example/${'a'.repeat(2000)}`, /2000/],
  ])('%s is refused', (uri, why) => {
    expect(redirectUriProblem(uri)).toMatch(why);
  });
});

describe('matching a redirect_uri against the registered ones', () => {
  const registered = ['https://app.example/callback', 'http://127.0.0.1/native', 'http://127.0.0.1:5000/fixed'];

  it('is an exact string comparison', () => {
    expect(matchesRegistered(registered, 'https://app.example/callback')).toBe(true);
    for (const near of [
      'https://app.example/callback/',
      'https://app.example/Callback',
      'https://APP.example/callback',
      'https://app.example/callback?x=1',
      'https://app.example:443/callback',
      'https://app.example/callback/../callback',
      'https://app.example/callback#x',
      'http://app.example/callback',
    ]) {
      expect(matchesRegistered(registered, near), near).toBe(false);
    }
  });

  it('lets a loopback IP registered without a port take any port (RFC 8252 §7.3), and nothing else', () => {
    expect(matchesRegistered(registered, 'http://127.0.0.1:51234/native')).toBe(true);
    expect(matchesRegistered(registered, 'http://127.0.0.1:51234/other')).toBe(false);
    expect(matchesRegistered(registered, 'http://127.0.0.1:6000/fixed')).toBe(false);
    expect(matchesRegistered(registered, 'http://localhost:51234/native')).toBe(false);
  });
});

describe('adding response parameters', () => {
  it('keeps an existing query byte for byte', () => {
    expect(withParams('https://a.example/cb?x=a%20b&y', { code: 'c d', state: null })).toBe('https://a.example/cb?x=a%20b&y&code=c+d');
    expect(withParams('https://a.example/cb', { code: 'x', state: 's&t' })).toBe('https://a.example/cb?code=x&state=s%26t');
  });
});
