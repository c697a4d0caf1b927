import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launch, screenshot, startStack, watchConsole, type ConsoleEntry, type Stack } from './browser-harness.js';

let stack: Stack;
let browser: Browser;
let page: Page;
let console: ConsoleEntry[];
beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack(), launch()]);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, permissions: ['clipboard-read', 'clipboard-write'] });
  page = await context.newPage();
  page.on('dialog', (d) => void d.accept()); // the "Delete …?" / "Revoke …?" confirmations
  console = watchConsole(page);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

const at = (path: string) => `${stack.base}${path}`;
/** A 4×4 green PNG: loaded, its naturalWidth is 4; a blocked or broken image has 0. */
const LOGO_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAYAAACp8Z5+AAAAEklEQVR4nGPQ7rL7j4wZSBcAABFAHyGU6fN9AAAAAElFTkSuQmCC', 'base64');

/** Reloads until `read` gives `want` (the worker delivers in the background); no fixed sleeps. */
async function reloadUntil(read: () => Promise<string | null>, want: string) {
  await expect
    .poll(async () => {
      await page.reload();
      return read();
    }, { timeout: 10_000, interval: 100 })
    .toBe(want);
}

describe('the dashboard in Chromium', () => {
  it('sign up → domain → verify → route → mail → message → retry → API key', { timeout: 60_000 }, async () => {
    const { receiver, dns, smtp } = stack;

    // Sign up (a visitor is sent to /login first).
    await page.goto(at('/'));
    await page.getByRole('link', { name: 'Create one' }).click();
    await page.getByLabel('Email').fill('ada@browser.example');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'No domains yet' }).waitFor();

    // Add a domain, publish its records in the DNS server, verify.
    await page.getByLabel('Domain name').fill('browser.example');
    await page.getByRole('button', { name: 'Add domain' }).click();
    await page.getByRole('heading', { name: /browser\.example/ }).waitFor();
    const cells = page.locator('table tbody tr');
    const records = await cells.evaluateAll((rows) =>
      rows.map((r) => [...r.querySelectorAll('code')].map((c) => c.textContent ?? '')),
    );
    // The copy buttons: app.js runs under the CSP (its nonce) and fills the clipboard.
    await page.getByRole('button', { name: 'Copy TXT record value' }).click();
    await page.getByRole('button', { name: 'Copy TXT record value' }).filter({ hasText: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(records[1]![1]);
    dns.set([
      { type: 'MX', name: records[0]![0]!, value: records[0]![1]! },
      { type: 'TXT', name: records[1]![0]!, value: records[1]![1]! },
    ]);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.locator('.badge.verified').first().waitFor();
    expect(await page.locator('.ok-mark').count()).toBe(2);

    // The catch-all webhook: set it, reveal its secret, send a test event.
    await page.getByLabel('Webhook URL').fill(`${receiver.url}/catch-all`);
    await page.getByRole('button', { name: 'Set webhook' }).click();
    await page.getByText('Reveal secret').click();
    expect(await page.locator('#webhook-secret').textContent()).toMatch(/^whsec_/);
    await page.getByRole('button', { name: 'Send test event' }).click();
    await page.locator('#test-result').waitFor();
    expect(await page.locator('#test-result').textContent()).toMatch(/Status200Latency\d+ ms/);
    await screenshot(page, 'domain');

    await page.goto(at('/domains'));
    await screenshot(page, 'domains');

    // Routes: the API's validation message next to the field, then a valid webhook route.
    await page.goto(at(`/domains`));
    await page.getByRole('link', { name: 'browser.example' }).click();
    await page.getByRole('link', { name: /Routes/ }).click();
    await page.getByLabel('Recipient pattern').fill('support@elsewhere.example');
    await page.getByLabel('Webhook URL').fill(`${receiver.url}/hook`);
    await page.getByRole('button', { name: 'Create route' }).click();
    await page.locator('#f-match-error').waitFor();
    expect(await page.locator('#f-match-error').textContent()).toContain('browser.example');
    await page.getByLabel('Recipient pattern').fill('*@browser.example');
    await page.getByRole('button', { name: 'Create route' }).click();
    await page.locator('table tbody tr', { hasText: '*@browser.example' }).waitFor();

    // A message over SMTP; the receiver refuses the first attempt.
    receiver.next({ status: 503, body: 'busy, try later' });
    const before = receiver.requests.length;
    await smtp.transport.sendMail({
      from: 'Grace <grace@sender.example>',
      to: 'support@browser.example',
      subject: 'Invoice 42 is ready',
      text: 'Hello! Your invoice is attached.',
      html: [
        '<h1>Invoice 42</h1><p style="color:#2b8a3e">Styled inline: allowed.</p>',
        `<img src="${receiver.url}/pixel.gif" alt="tracking pixel">`,
        '<img id="logo" src="cid:logo@invoice" alt="inline logo">',
        `<script>new Image().src = "${receiver.url}/script-ran";</script>`,
      ].join(''),
      attachments: [
        { filename: 'invoice-42.txt', content: 'INVOICE 42' },
        { filename: 'logo.png', content: LOGO_PNG, contentType: 'image/png', cid: 'logo@invoice' },
      ],
    });
    await receiver.waitFor(before + 1);

    // The dry run, with the stored message.
    await page.reload();
    await page.getByLabel('A stored message').selectOption({ label: 'Invoice 42 is ready — from grace@sender.example' });
    await page.getByRole('button', { name: 'Run dry run' }).click();
    await page.locator('#dry-run-panel .card', { hasText: 'support@browser.example' }).waitFor();
    expect(await page.locator('#dry-run-panel').textContent()).toContain('Fires *@browser.example → webhook');
    await screenshot(page, 'routes');

    // The list, at desktop and phone width.
    await page.getByRole('link', { name: 'Messages' }).click();
    const row = page.locator('table.messages tbody tr', { hasText: 'Invoice 42 is ready' });
    await row.waitFor();
    expect(await row.textContent()).toContain('grace@sender.example');
    await screenshot(page, 'messages');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, 'messages-phone');
    await page.setViewportSize({ width: 1280, height: 800 });

    // The message: HTML in a sandboxed frame that runs nothing and loads nothing remote.
    await row.getByRole('link').click();
    const frame = page.locator('iframe.mail');
    expect(await frame.getAttribute('sandbox')).not.toMatch(/allow-scripts|allow-same-origin/);
    await page.frameLocator('iframe.mail').getByRole('heading', { name: 'Invoice 42' }).waitFor();
    // The inline (cid:) image loads, through its signed link, in the cookie-less sandboxed frame.
    const logo = page.frameLocator('iframe.mail').locator('#logo');
    await expect.poll(() => logo.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), { timeout: 10_000 }).toBe(4);
    expect(await page.getByRole('link', { name: 'invoice-42.txt' }).getAttribute('href')).toMatch(/\/att\/msg_\w+\/\d\?exp=\d+&sig=/);
    // The worker records the 503 just after the receiver answers it.
    await reloadUntil(() => page.locator('.delivery td[data-label="Status"]').first().textContent(), '503');
    await screenshot(page, 'message');

    // Retry (labelled "Retry now" while pending): the receiver now answers 200.
    await page.locator('.delivery').first().getByRole('button').click();
    await reloadUntil(() => page.locator('.delivery .badge').first().textContent(), 'delivered');
    expect(receiver.requests.map((r) => r.url)).not.toContain('/pixel.gif');
    expect(receiver.requests.map((r) => r.url)).not.toContain('/script-ran');

    // The attachment link works without a session; the raw download with one.
    const att = await page.request.get(await page.getByRole('link', { name: 'invoice-42.txt' }).getAttribute('href') as string);
    expect(await att.text()).toBe('INVOICE 42');
    const raw = await page.request.get(at(new URL(page.url()).pathname + '/raw'));
    expect(await raw.text()).toContain('Subject: Invoice 42 is ready');

    // An API key: shown once, works, revoked, refused.
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { name: 'No API keys' }).waitFor();
    await page.getByLabel('Name').fill('billing app');
    await page.getByLabel('messages:read').check();
    await page.getByLabel('routes:read').check();
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.locator('#new-key-value').textContent()) ?? '';
    expect(secret).toMatch(/^mhk_/);
    const useKey = () => page.request.get(at('/api/messages'), { headers: { authorization: `Bearer ${secret}` } });
    expect((await useKey()).status()).toBe(200);
    await screenshot(page, 'keys');
    await page.getByRole('button', { name: 'Revoke billing app' }).click();
    await page.getByRole('heading', { name: 'No API keys' }).waitFor();
    expect((await useKey()).status()).toBe(401);

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();

    // No CSP violation or error on any dashboard page. Expected: the 400 of the invalid route
    // form, and the mail frame's refusals (its blocked script and remote image).
    const mailFrame = (e: ConsoleEntry) => /\/messages\/msg_\w+\/html$/.test(e.url);
    const invalidForm = (e: ConsoleEntry) => e.text.includes('status of 400') && e.url.endsWith('/routes');
    expect(console.filter((e) => !mailFrame(e) && !invalidForm(e))).toEqual([]);
    const refusals = console.filter(mailFrame).map((e) => e.text);
    expect(refusals.some((t) => t.includes('pixel.gif') && t.includes('img-src data:'))).toBe(true);
    expect(refusals.some((t) => t.includes("'allow-scripts' permission is not set"))).toBe(true);
  });
});
