import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markVerified } from '../helpers/api.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';
import { anonymousGet, signUpInBrowser, testApi, type Browserish, type TestApi } from './web-client.js';

/** Mail whose HTML tries everything: script, event handler, remote image, stylesheet, form, frame. */
const HOSTILE_HTML = [
  '<h1 onclick="alert(1)">Hi</h1><script>fetch("https://tracker.example/x")</script>',
  '<img src="https://tracker.example/pixel.gif"><link rel="stylesheet" href="https://tracker.example/s.css">',
  '<form action="https://phish.example/"><input name="password"></form><iframe src="https://tracker.example/"></iframe>',
].join('');

let api: TestApi;
let smtp: RunningSmtp;
let owner: Browserish;
let stranger: Browserish;
let messageId: string;
let deliveryId: string;
let domainId: string;
beforeAll(async () => {
  api = testApi();
  smtp = await startSmtp(api.deps);
  [owner, stranger] = [await signUpInBrowser(api), await signUpInBrowser(api)];
  const domain = await api.call('POST', '/api/domains', { token: owner.token, body: { name: 'iso.example' } });
  domainId = domain.body.id;
  await markVerified(api, domainId);
  await api.call('POST', '/api/routes', {
    token: owner.token,
    body: { domain_id: domainId, match: '*@iso.example', action: 'webhook', destination: 'http://127.0.0.1:9/hook' },
  });
  await smtp.transport.sendMail({ from: 'x@sender.example', to: 'a@iso.example', subject: 'hostile', text: 'plain', html: HOSTILE_HTML });
  const list = await api.call('GET', '/api/messages', { token: owner.token });
  messageId = list.body.data[0].id;
  deliveryId = (await api.call('GET', `/api/deliveries?message_id=${messageId}`, { token: owner.token })).body.data[0].id;
});
afterAll(async () => {
  await smtp.close();
  api.deps.cleanup();
});

const csp = (h: Headers) => Object.fromEntries((h.get('content-security-policy') ?? '').split(/;\s*/).map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));

describe('the dashboard’s Content-Security-Policy', () => {
  it('is strict on every page: nonce scripts only, own styles, no framing, no base, forms to self', async () => {
    for (const path of ['/login', '/domains', `/messages/${messageId}`, '/keys', '/nope']) {
      const res = path === '/login' ? await anonymousGet(api, path) : await owner.get(path);
      const p = csp(res.headers);
      expect(p['default-src']).toEqual(["'none'"]);
      expect(p['script-src']).toHaveLength(1);
      expect(p['script-src']![0]).toMatch(/^'nonce-[A-Za-z0-9+/=]{20,}'$/);
      expect(p['style-src']).toEqual(["'self'"]);
      expect(p['img-src']).toEqual(["'self'", 'data:']);
      expect(p['form-action']).toEqual(["'self'"]);
      expect(p['frame-ancestors']).toEqual(["'none'"]);
      expect(p['base-uri']).toEqual(["'none'"]);
      expect(p['frame-src']).toEqual(["'self'"]);
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      // Every <script> carries this response's nonce; no inline style attribute anywhere.
      const nonce = p['script-src']![0]!.slice("'nonce-".length, -1);
      const scripts = res.text.match(/<script[^>]*>/g) ?? [];
      expect(scripts.length).toBeGreaterThan(0);
      for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
      expect(res.text).not.toMatch(/\sstyle=|<style/);
    }
  });

  it('uses a fresh nonce per response', async () => {
    const a = csp((await api.app.request('/login')).headers)['script-src'];
    const b = csp((await api.app.request('/login')).headers)['script-src'];
    expect(a).not.toEqual(b);
  });

  it('leaves the API’s JSON responses alone', async () => {
    const res = await api.app.request('/api/health');
    expect(res.headers.get('content-security-policy')).toBeNull();
    expect(res.headers.get('content-type')).toMatch(/json/);
  });
});

describe('an email’s HTML in the dashboard', () => {
  it('is shown in an iframe sandboxed without scripts or same-origin, never inline in the page', async () => {
    const page = await owner.get(`/messages/${messageId}`);
    expect(page.status).toBe(200);
    const frame = /<iframe[^>]*class="mail"[^>]*>/.exec(page.text)?.[0] ?? '';
    expect(frame).toContain(`src="/messages/${messageId}/html"`);
    const sandbox = /sandbox="([^"]*)"/.exec(frame)?.[1];
    expect(sandbox).toBeDefined();
    expect(sandbox).not.toMatch(/allow-scripts|allow-same-origin|allow-top-navigation|allow-forms/);
    expect(page.text).not.toContain('tracker.example');
  });

  it('is served with its own policy: no script, no remote load, no form, sandboxed even when opened directly', async () => {
    const res = await owner.get(`/messages/${messageId}/html`);
    expect(res.status).toBe(200);
    const p = csp(res.headers);
    expect(p['default-src']).toEqual(["'none'"]);
    expect(p['script-src']).toBeUndefined();
    // data: and this server's signed attachment links (inline cid: images), nothing remote.
    expect(p['img-src']).toEqual(['data:', `${api.deps.config.publicUrl}/att/`]);
    expect(p['style-src']).toEqual(["'unsafe-inline'"]);
    expect(p['form-action']).toEqual(["'none'"]);
    expect(p['frame-ancestors']).toEqual(["'self'"]);
    expect(p.sandbox).toBeDefined();
    expect(p.sandbox).not.toContain('allow-scripts');
    expect(p.sandbox).not.toContain('allow-same-origin');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.text).toContain('<h1 onclick="alert(1)">Hi</h1>');
  });

  it('needs the session', async () => {
    const res = await api.app.request(`/messages/${messageId}/html`);
    expect(res.status).toBe(303);
    expect(await res.text()).not.toContain('tracker.example');
  });
});

describe('another account’s resources', () => {
  it('are a 404 page, exactly like ones that do not exist', async () => {
    for (const path of [`/messages/${messageId}`, `/messages/${messageId}/html`, `/messages/${messageId}/raw`, `/domains/${domainId}`, `/domains/${domainId}/routes`]) {
      const res = await stranger.get(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(res.text).toContain('Not found');
      expect(res.text).not.toContain('hostile');
      expect((await stranger.get(path.replace(messageId, 'msg_01aaaaaaaaaaaaaaaaaaaaaaaa').replace(domainId, 'dom_01aaaaaaaaaaaaaaaaaaaaaaaa'))).status).toBe(404);
    }
    expect((await stranger.post(`/deliveries/${deliveryId}/retry`, {})).status).toBe(404);
    expect((await stranger.post(`/domains/${domainId}/delete`, {})).status).toBe(404);
    expect((await api.call('GET', `/api/domains/${domainId}`, { token: owner.token })).status).toBe(200);
  });

  it('are the owner’s: raw download and retry work for them', async () => {
    const raw = await owner.get(`/messages/${messageId}/raw`);
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type')).toBe('message/rfc822');
    expect(raw.text).toContain('Subject: hostile');
    const retry = await owner.post(`/deliveries/${deliveryId}/retry`, {});
    expect(retry.status).toBe(303);
    expect(retry.location).toBe(`/messages/${messageId}#${deliveryId}`);
  });
});
