import { Hono, type Context } from 'hono';
import { SCOPES } from '../../auth/api-keys.js';
import type { Web, WebEnv } from '../env.js';
import { fieldErrors, noErrors, readForm, type FieldErrors } from '../form.js';
import { rowActionPost } from '../row-action.js';
import { Alert, Copy, Empty, Field, FieldError, PageHead, PostForm, RowAction, Time } from '../ui/components.js';
import { formStatus, render } from '../ui/render.js';
import type { DomainJson, KeyJson, Page } from '../types.js';

interface State {
  created?: KeyJson & { key: string };
  name?: string;
  scopes?: string[];
  domainId?: string;
  errors?: FieldErrors;
  status?: number;
}

const NewKey = ({ k }: { k: KeyJson & { key: string } }) => (
  <section class="card secret" role="status" aria-labelledby="new-key">
    <h2 id="new-key">Your new key “{k.name}”</h2>
    <p>Copy it now: it is shown this once, and Mailhook keeps only a hash.</p>
    <p>
      <code id="new-key-value">{k.key}</code> <Copy value={k.key} what="API key" />
    </p>
    <p class="muted">Send it as <code>Authorization: Bearer {k.prefix}…</code></p>
  </section>
);

/** GET/POST /keys (list, create with scopes, the secret shown once), POST /keys/:id/revoke. */
export function keyPages({ api }: Web) {
  const r = new Hono<WebEnv>();

  const show = async (c: Context<WebEnv>, s: State = {}) => {
    const keys = (await api.get<Page<KeyJson>>(c, '/api/keys?limit=200')).data;
    const domains = (await api.get<Page<DomainJson>>(c, '/api/domains?limit=200')).data;
    const csrf = c.get('csrf');
    const e = s.errors ?? noErrors;
    const chosen = s.scopes ?? ['messages:read'];
    const domainName = (id: string | null) => (id ? (domains.find((d) => d.id === id)?.name ?? id) : 'all domains');
    const body = (
      <>
        <PageHead title="API keys">For your code: call the REST API with a key that holds only the scopes it needs.</PageHead>
        {s.created ? <NewKey k={s.created} /> : null}
        <section class="card">
          {keys.length ? (
            <div class="table-wrap">
              <table class="stack">
                <thead>
                  <tr><th>Name</th><th>Key</th><th>Scopes</th><th>Domain</th><th>Created</th><th>Last used</th><th></th></tr>
                </thead>
                <tbody>
                  {keys.map((k) => (
                    <tr>
                      <td>{k.name}</td>
                      <td data-label="Key"><code>{k.prefix}…</code></td>
                      <td data-label="Scopes">{k.scopes.join(', ')}</td>
                      <td data-label="Domain">{domainName(k.domain_id)}</td>
                      <td data-label="Created"><Time ms={k.created_at} /></td>
                      <td data-label="Last used"><Time ms={k.last_used_at} /></td>
                      <td>
                        <RowAction action={`/keys/${k.id}/revoke`} csrf={csrf} label="Revoke" what={k.name} confirm={`Revoke “${k.name}”? Requests with it fail at once.`} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <Empty title="No API keys">
              <p>Create one below to read messages or manage routes from your own code. The dashboard itself needs none.</p>
            </Empty>
          )}
        </section>
        <section class="card" aria-labelledby="create-key">
          <h2 id="create-key">Create a key</h2>
          <Alert error={e.general} />
          <PostForm action="/keys" csrf={csrf}>
            <Field name="name" label="Name" value={s.name ?? ''} error={e.fields.name} required placeholder="billing app" />
            <fieldset>
              <legend>Scopes</legend>
              <div class="grid2">
                {SCOPES.map((scope) => (
                  <label class="check">
                    <input type="checkbox" name="scopes" value={scope} checked={chosen.includes(scope)} /> {scope === '*' ? '* (everything)' : scope}
                  </label>
                ))}
              </div>
              <FieldError error={e.fields.scopes} />
            </fieldset>
            <div class="field">
              <label for="f-domain_id">Restrict to domain</label>
              <select id="f-domain_id" name="domain_id">
                <option value="">All domains</option>
                {domains.map((d) => <option value={d.id} selected={s.domainId === d.id}>{d.name}</option>)}
              </select>
              <FieldError error={e.fields.domain_id} />
            </div>
            <button type="submit">Create key</button>
          </PostForm>
        </section>
      </>
    );
    return render(c, 'API keys', body, { section: 'keys', status: formStatus(s.status) });
  };

  r.get('/keys', (c) => show(c));

  r.post('/keys', async (c) => {
    const form = await readForm(c);
    const input = { name: form.get('name'), scopes: form.all('scopes'), domainId: form.get('domain_id') };
    const res = await api.send<KeyJson & { key: string }>(c, 'POST', '/api/keys', {
      name: input.name,
      scopes: input.scopes,
      domain_id: input.domainId || null,
    });
    if (!res.ok) {
      // A domain the API does not find for you is a field error here, not a missing page.
      const errors = fieldErrors(res.status === 404 ? `domain_id: ${res.error}` : res.error, ['name', 'scopes', 'domain_id']);
      return show(c, { ...input, errors, status: res.status === 404 ? 400 : res.status });
    }
    return show(c, { created: res.data });
  });

  r.post('/keys/:id/revoke', rowActionPost(api, '/api/keys', '/keys'));
  return r;
}
