import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../helpers/oauth.js';
import { signUpInBrowser, testApi, type Browserish, type TestApi } from './web-client.js';

// The table rows' own button (Delete / Revoke / Unblock / Remove): one POST form each, carrying the
// session's CSRF token and, for what cannot be undone without a new secret, a confirmation. Pinned
// to the byte, with names that need escaping, and the post behind each one.
let api: TestApi;
let b: Browserish;
let csrf: string;
const NAME = 'Ada’s "CRM" & <co>';
const ids = { app: '', key: '', block: '', connected: '' };
beforeAll(async () => {
  api = testApi();
  b = await signUpInBrowser(api);
  csrf = await b.csrf();
  ids.app = (await api.call('POST', '/api/apps', { token: b.token, body: { name: NAME, redirect_uris: ['https://crm.example/cb'] } })).body.id;
  ids.key = (await api.call('POST', '/api/keys', { token: b.token, body: { name: NAME, scopes: ['messages:read'] } })).body.id;
  ids.block = (await api.call('POST', '/api/blocks', { token: b.token, body: { pattern: '*@spam.example' } })).body.id;
  const owner = await signUpInBrowser(api);
  ids.connected = (await connect(api, owner.token, b)).app.id;
  const me = (await api.call('GET', '/api/auth/me', { token: b.token })).body.user;
  await api.deps.repos.suppressions.add({ userId: me.id, address: "o'brien+x@far.test", reason: 'bounce', detail: '550', sendId: null }, Date.now());
});
afterAll(() => api.deps.cleanup());

const ESCAPED = 'Ada’s &quot;CRM&quot; &amp; &lt;co&gt;';
const form = (action: string, attrs: string, button: string) =>
  `<form method="post" action="${action}" class="inline"${attrs}><input type="hidden" name="_csrf" value="${csrf}"/>${button}</form>`;
const rows = () => [
  {
    page: '/apps',
    action: `/apps/${ids.app}/delete`,
    html: form(`/apps/${ids.app}/delete`, ` data-confirm="Delete “${ESCAPED}”? Every token it holds stops working at once."`,
      `<button type="submit" class="danger small" aria-label="Delete ${ESCAPED}">Delete</button>`),
  },
  {
    page: '/keys',
    action: `/keys/${ids.key}/revoke`,
    html: form(`/keys/${ids.key}/revoke`, ` data-confirm="Revoke “${ESCAPED}”? Requests with it fail at once."`,
      `<button type="submit" class="danger small" aria-label="Revoke ${ESCAPED}">Revoke</button>`),
  },
  {
    page: '/blocks',
    action: `/blocks/${ids.block}/delete`,
    html: form(`/blocks/${ids.block}/delete`, '', '<button type="submit" class="secondary small" aria-label="Unblock *@spam.example">Unblock</button>'),
  },
  {
    page: '/connected-apps',
    action: `/connected-apps/${ids.connected}/revoke`,
    html: form(`/connected-apps/${ids.connected}/revoke`, ' data-confirm="Revoke “Acme Helpdesk”? Its requests fail at once."',
      '<button type="submit" class="danger small" aria-label="Revoke Acme Helpdesk">Revoke</button>'),
  },
  {
    page: '/suppressions',
    action: `/suppressions/${encodeURIComponent("o'brien+x@far.test")}/delete`,
    html: form('/suppressions/o&#39;brien%2Bx%40far.test/delete', '',
      '<button type="submit" class="secondary small" aria-label="Remove o&#39;brien+x@far.test">Remove</button>'),
  },
];

describe('dashboard row actions', () => {
  it('render each row’s form exactly (action, CSRF field, confirmation, button)', async () => {
    for (const row of rows()) {
      const page = await b.get(row.page);
      expect(page.status).toBe(200);
      expect(page.text, row.page).toContain(row.html);
    }
  });

  it('post: another account’s id is the 404 page; one’s own goes back to the list (303) and is gone', async () => {
    const other = await signUpInBrowser(api);
    for (const row of rows()) {
      const refused = await other.post(row.action, {});
      expect(refused.status, row.action).toBe(404);
      expect(refused.headers.get('content-type')).toMatch(/^text\/html/);
      const res = await b.post(row.action, {});
      expect(res.status, row.action).toBe(303);
      expect(res.location).toBe(row.page);
      expect((await b.get(row.page)).text).not.toContain(`action="${row.html.split('"')[3]}"`);
    }
  });
});
