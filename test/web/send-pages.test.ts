import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { addRoute } from '../helpers/deps.js';
import { launch, startStack, watchConsole, type ConsoleEntry, type Stack } from './browser-harness.js';

let stack: Stack;
let browser: Browser;
let page: Page;
let consoleErrors: ConsoleEntry[];
beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack(), launch()]);
  page = await (await browser.newContext()).newPage();
  consoleErrors = watchConsole(page);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('dashboard: Reply form and Sent pages', () => {
  it('replies to a stored message from its page; the reply threads and shows on Sent with its recipient', { timeout: 60_000 }, async () => {
    const at = (p: string) => `${stack.base}${p}`;
    const signup = await fetch(at('/api/auth/signup'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'reply@browser.example', password: 'correct horse battery' }),
    }).then((r) => r.json() as Promise<{ token: string; user: { id: string } }>);
    const domain = await fetch(at('/api/domains'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${signup.token}` },
      body: JSON.stringify({ name: 'reply.example' }),
    }).then((r) => r.json() as Promise<{ id: string }>);
    await stack.deps.repos.domains.setStatus(domain.id, 'verified', Date.now(), null);
    await stack.deps.repos.domains.setDkimVerified(domain.id, Date.now());
    await addRoute(stack.deps, { userId: signup.user.id, domainId: domain.id }, { match: '*@reply.example' });
    const info = await stack.smtp.transport.sendMail({ from: 'Cust <cust@customer.example>', to: 'support@reply.example', subject: 'Help please', text: 'It broke', messageId: '<q1@customer.example>' });
    const messageId = /msg_\w+/.exec(String(info.response))![0];

    await page.goto(at('/login'));
    await page.getByLabel('Email').fill('reply@browser.example');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.goto(at(`/messages/${messageId}`));
    expect(await page.getByLabel('From').inputValue()).toBe('support@reply.example');
    expect(await page.getByLabel('To').inputValue()).toBe('cust@customer.example');
    expect(await page.getByLabel('Subject').inputValue()).toBe('Re: Help please');

    // A refusal comes back on the form, naming the field.
    await page.getByLabel('From').fill('someone@not-mine.example');
    await page.getByLabel('Message').fill('Fixed now.');
    await page.getByRole('button', { name: 'Send reply' }).click();
    await page.getByText('not-mine.example is not one of your domains').waitFor();

    await page.getByLabel('From').fill('support@reply.example');
    await page.getByRole('button', { name: 'Send reply' }).click();
    await page.waitForURL(/\/sent\/snd_/);
    await page.getByRole('heading', { name: 'Re: Help please' }).waitFor();
    await page.getByRole('heading', { name: /cust@customer\.example/ }).waitFor();
    const sendId = page.url().split('/').pop()!;
    expect(await stack.deps.repos.sends.getById(sendId)).toMatchObject({ sourceMessageId: messageId });
    expect((await stack.deps.repos.sends.raw(sendId))!.toString()).toContain('In-Reply-To: <q1@customer.example>');

    await page.goto(at('/sent'));
    await page.getByRole('link', { name: 'Re: Help please' }).waitFor();
    // The refused reply is answered 403 (the page with the form): the browser logs that status, nothing else.
    expect(consoleErrors.filter((e) => !/status of 403/.test(e.text))).toEqual([]);
  });
});
