import { Hono, type Context } from 'hono';
import type { z } from '@hono/zod-openapi';
import type { AppSchema } from '../../api/apps.js';
import type { Web, WebEnv } from '../env.js';
import { fieldErrors, noErrors, readForm, type FieldErrors } from '../form.js';
import { rowActionPost } from '../row-action.js';
import { Alert, Copy, Empty, Field, FieldError, PageHead, PostForm, RowAction, Time } from '../ui/components.js';
import { formStatus, render } from '../ui/render.js';
import type { Page } from '../types.js';

type AppJson = z.infer<typeof AppSchema>;
type NewAppJson = AppJson & { client_secret?: string };

interface State {
  created?: NewAppJson;
  name?: string;
  redirectUris?: string;
  confidential?: boolean;
  errors?: FieldErrors;
  status?: number;
}

const NewApp = ({ a }: { a: NewAppJson }) => (
  <section class="card secret" role="status" aria-labelledby="new-app">
    <h2 id="new-app">Your new app “{a.name}”</h2>
    <dl class="facts">
      <dt>client_id</dt>
      <dd>
        <code id="new-client-id">{a.client_id}</code> <Copy value={a.client_id} what="client_id" />
      </dd>
      {a.client_secret ? (
        <>
          <dt>client_secret</dt>
          <dd>
            <code id="new-client-secret">{a.client_secret}</code> <Copy value={a.client_secret} what="client secret" />
          </dd>
        </>
      ) : null}
    </dl>
    <p>
      {a.client_secret
        ? 'Copy the secret now: it is shown this once, and Mailhook keeps only a hash.'
        : 'A public client: it has no secret and proves itself with PKCE alone.'}
    </p>
  </section>
);

/** GET/POST /apps (register; the secret shown once), POST /apps/:id/delete. */
export function appPages({ api }: Web) {
  const r = new Hono<WebEnv>();

  const show = async (c: Context<WebEnv>, s: State = {}) => {
    const apps = (await api.get<Page<AppJson>>(c, '/api/apps?limit=200')).data;
    const csrf = c.get('csrf');
    const e = s.errors ?? noErrors;
    const body = (
      <>
        <PageHead title="Apps">OAuth apps you build: other Mailhook users approve them, and they call the API on those users’ behalf.</PageHead>
        {s.created ? <NewApp a={s.created} /> : null}
        <section class="card">
          {apps.length ? (
            <div class="table-wrap">
              <table class="stack">
                <thead>
                  <tr><th>Name</th><th>client_id</th><th>Type</th><th>Redirect URIs</th><th>Created</th><th></th></tr>
                </thead>
                <tbody>
                  {apps.map((a) => (
                    <tr>
                      <td>{a.name}</td>
                      <td data-label="client_id"><code>{a.client_id}</code></td>
                      <td data-label="Type">{a.confidential ? 'confidential' : 'public'}</td>
                      <td data-label="Redirect URIs">{a.redirect_uris.map((u) => <div><code>{u}</code></div>)}</td>
                      <td data-label="Created"><Time ms={a.created_at} /></td>
                      <td>
                        <RowAction action={`/apps/${a.id}/delete`} csrf={csrf} label="Delete" what={a.name} confirm={`Delete “${a.name}”? Every token it holds stops working at once.`} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <Empty title="No apps">
              <p>Register one below to let other Mailhook users connect your integration without pasting an API key.</p>
            </Empty>
          )}
        </section>
        <section class="card" aria-labelledby="register-app">
          <h2 id="register-app">Register an app</h2>
          <Alert error={e.general} />
          <PostForm action="/apps" csrf={csrf}>
            <Field name="name" label="Name" value={s.name ?? ''} error={e.fields.name} required placeholder="Acme Helpdesk" hint="Shown to users on the consent page." />
            <div class="field">
              <label for="f-redirect_uris">Redirect URIs</label>
              <textarea id="f-redirect_uris" name="redirect_uris" required aria-describedby={e.fields.redirect_uris ? "f-redirect_uris-hint f-redirect_uris-error" : "f-redirect_uris-hint"} aria-invalid={e.fields.redirect_uris ? 'true' : undefined}>
                {s.redirectUris ?? ''}
              </textarea>
              <p class="hint" id="f-redirect_uris-hint">One per line, matched exactly: https, or http on 127.0.0.1, [::1] or localhost; no wildcards or fragments.</p>
              <FieldError id="f-redirect_uris-error" error={e.fields.redirect_uris} />
            </div>
            <label class="check">
              <input type="checkbox" name="confidential" value="true" checked={s.confidential ?? true} /> Confidential: runs on a server and can keep a client secret
            </label>
            <button type="submit">Register app</button>
          </PostForm>
        </section>
      </>
    );
    return render(c, 'Apps', body, { section: 'apps', status: formStatus(s.status) });
  };

  r.get('/apps', (c) => show(c));

  r.post('/apps', async (c) => {
    const form = await readForm(c);
    const redirectUris = form.raw('redirect_uris');
    const input = { name: form.get('name'), redirectUris, confidential: form.get('confidential') === 'true' };
    const res = await api.send<NewAppJson>(c, 'POST', '/api/apps', {
      name: input.name,
      redirect_uris: redirectUris.split(/\r?\n/).map((l) => l.trim()).filter(Boolean),
      confidential: input.confidential,
    });
    if (!res.ok) return show(c, { ...input, errors: fieldErrors(res.error, ['name', 'redirect_uris']), status: res.status });
    return show(c, { created: res.data });
  });

  r.post('/apps/:id/delete', rowActionPost(api, '/api/apps', '/apps'));
  return r;
}
