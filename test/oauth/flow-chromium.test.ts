import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oauth from 'oauth4webapi';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, screenshot, startStack, watchConsole, type ConsoleEntry, type Stack } from '../web/browser-harness.js';
import { storeMessage } from '../helpers/messages.js';

/** The app's side: a callback server on loopback that records where the browser was sent. */
interface Callback {
  url: string;
  hits: URL[];
  next(): Promise<URL>;
  close(): Promise<void>;
}

async function startCallback(): Promise<Callback> {
  const hits: URL[] = [];
  const waiting: ((u: URL) => void)[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    hits.push(url);
    waiting.shift()?.(url);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('back at the app');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
  return {
    url,
    hits,
    next: () => new Promise((r) => waiting.push(r)),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

// Mailhook on a plain-http loopback address: the library refuses that unless told (tests only).
const insecure = { [oauth.allowInsecureRequests]: true };

let stack: Stack;
let browser: Browser;
let callback: Callback;
let ownerCtx: BrowserContext;
let userCtx: BrowserContext;
/** Console errors and warnings of every page, as watchConsole collects them. */
const consoles: ConsoleEntry[][] = [];
beforeAll(async () => {
  [stack, browser, callback] = await Promise.all([startStack(), launch(), startCallback()]);
  ownerCtx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  userCtx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
});
afterAll(async () => {
  await browser?.close();
  await callback?.close();
  await stack?.close();
});

const at = (path: string) => `${stack.base}${path}`;

async function signIn(page: Page, email: string, password: string) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Where the browser reached the app, or a failure naming the console (a CSP refusal shows there) after 20 s. */
async function reached(arrived: Promise<URL>): Promise<URL> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the browser never reached the app; console: ${JSON.stringify(consoles.flat())}`)), 20_000);
  });
  try {
    return await Promise.race([arrived, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Opens the authorize URL as a signed-in user, clicks `button` on the consent page; returns where the app was sent. */
async function consent(page: Page, url: URL, button: 'Approve' | 'Deny'): Promise<URL> {
  const arrived = callback.next();
  await page.goto(url.href);
  await page.getByRole('heading', { name: /^Authorize / }).waitFor();
  await page.getByRole('button', { name: button }).click();
  const hit = await reached(arrived);
  await page.getByText('back at the app').waitFor();
  return hit;
}

describe('OAuth with oauth4webapi and the consent step in Chromium', () => {
  it('register → authorize → approve → token → API → refresh → revoke → 401', { timeout: 90_000 }, async () => {
    // The app's developer registers it on the Apps page.
    const ownerPage = await ownerCtx.newPage();
    consoles.push(watchConsole(ownerPage));
    await ownerPage.goto(at('/signup'));
    await ownerPage.getByLabel('Email').fill('dev@acme.example');
    await ownerPage.getByLabel('Password').fill('correct horse battery');
    await ownerPage.getByRole('button', { name: 'Create account' }).click();
    await ownerPage.getByRole('link', { name: 'Apps', exact: true }).click();
    await ownerPage.getByLabel('Name').fill('Acme Helpdesk');
    await ownerPage.getByLabel('Redirect URIs').fill(callback.url);
    await ownerPage.getByRole('button', { name: 'Register app' }).click();
    const clientId = (await ownerPage.locator('#new-client-id').textContent())!;
    const clientSecret = (await ownerPage.locator('#new-client-secret').textContent())!;
    expect(clientId).toMatch(/^mhc_/);
    expect(clientSecret).toMatch(/^mhcs_/);
    await screenshot(ownerPage, 'apps');
    await ownerPage.reload();
    expect(await ownerPage.content()).not.toContain(clientSecret);

    // A Mailhook user with mail, who will connect the app.
    const email = 'grace@customer.example';
    const password = 'correct horse battery';
    const post = async (path: string, body: unknown, token?: string) => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (token) headers.authorization = `Bearer ${token}`;
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      return (await (await fetch(at(path), { method: 'POST', headers, body: JSON.stringify(body) })).json()) as any;
    };
    const account = await post('/api/auth/signup', { email, password });
    const domain = await post('/api/domains', { name: 'customer.example' }, account.token);
    const stored = await storeMessage(stack.deps, { userId: account.user.id, domainId: domain.id });

    // The app discovers the server (RFC 8414) and starts the flow with PKCE.
    const issuer = new URL(stack.base);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
    const client: oauth.Client = { client_id: clientId };
    const clientAuth = oauth.ClientSecretBasic(clientSecret);
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint!);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: callback.url,
      scope: 'messages:read',
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString();

    // Signed out: sign in, come back to the consent page, approve. The CSP lets the redirect through.
    const userPage = await userCtx.newPage();
    consoles.push(watchConsole(userPage));
    const arrived = callback.next();
    await userPage.goto(url.href);
    await signIn(userPage, email, password);
    await userPage.getByRole('heading', { name: 'Authorize Acme Helpdesk' }).waitFor();
    expect(await userPage.locator('#scopes').textContent()).toContain('Read the email your domains receive');
    await screenshot(userPage, 'oauth-consent');
    await userPage.getByRole('button', { name: 'Approve' }).click();
    const back = await reached(arrived);

    const params = oauth.validateAuthResponse(as, client, back, state);
    const codeResponse = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, callback.url, verifier, insecure);
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, codeResponse);
    expect(tokens.access_token).toMatch(/^mho_/);
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.expires_in).toBe(3600);
    expect(tokens.scope).toBe('messages:read');

    /** GET /api/messages as the app: the ids, or the status and RFC 6750 error of a refusal. */
    const list = async (token: string): Promise<{ status: number; ids?: string[]; error?: string }> => {
      try {
        const res = await oauth.protectedResourceRequest(token, 'GET', new URL(at('/api/messages')), new Headers(), null, insecure);
        return { status: res.status, ids: ((await res.json()) as { data: { id: string }[] }).data.map((m) => m.id) };
      } catch (err) {
        if (!(err instanceof oauth.WWWAuthenticateChallengeError)) throw err;
        return { status: err.status, error: err.cause[0]?.parameters.error };
      }
    };
    expect(await list(tokens.access_token)).toEqual({ status: 200, ids: [stored.id] });

    // Refresh: a new pair; the rotated refresh token is spent.
    const refreshed = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token!, insecure));
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect((await list(refreshed.access_token)).status).toBe(200);

    // Revoke (RFC 7009) → 401 on the next call.
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, clientAuth, refreshed.access_token, insecure));
    expect(await list(refreshed.access_token)).toEqual({ status: 401, error: 'invalid_token' });

    // Connected apps: the user sees it, with its scope and last use, and revokes it.
    const again = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshed.refresh_token!, insecure));
    expect((await list(again.access_token)).status).toBe(200);
    await userPage.goto(at('/connected-apps'));
    const row = userPage.locator('table tbody tr', { hasText: 'Acme Helpdesk' });
    expect(await row.locator('td[data-label="Scopes"]').textContent()).toBe('messages:read');
    expect(await row.locator('td[data-label="Last used"] time').count()).toBe(1);
    await screenshot(userPage, 'connected-apps');
    userPage.once('dialog', (d) => void d.accept());
    await row.getByRole('button', { name: 'Revoke Acme Helpdesk' }).click();
    await userPage.getByRole('heading', { name: 'No connected apps' }).waitFor();
    expect(await list(again.access_token)).toEqual({ status: 401, error: 'invalid_token' });

    // Deny: the app gets access_denied with its state, and no code.
    const denyState = oauth.generateRandomState();
    url.searchParams.set('state', denyState);
    const denied = await consent(userPage, url, 'Deny');
    expect(denied.searchParams.get('error')).toBe('access_denied');
    expect(denied.searchParams.get('state')).toBe(denyState);
    expect(denied.searchParams.has('code')).toBe(false);

    // The only console messages: none (no CSP refusal on any page of the flow).
    expect(consoles.flat()).toEqual([]);
  });
});
