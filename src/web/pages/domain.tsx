import { Hono, type Context } from 'hono';
import { failure } from '../api-client.js';
import type { Web, WebEnv } from '../env.js';
import { fieldErrors, noErrors, readForm, type FieldErrors } from '../form.js';
import { Alert, Badge, PageHead, PostForm, Time } from '../ui/components.js';
import { DnsRecords } from '../ui/dns-records.js';
import { formStatus, render } from '../ui/render.js';
import { WebhookPanel } from '../ui/webhook-panel.js';
import type { DomainJson, Page, RouteJson, WebhookTestJson } from '../types.js';

interface State {
  url?: string;
  webhookErrors?: FieldErrors;
  verifyError?: string | null;
  test?: WebhookTestJson | null;
  status?: number;
}

/** GET /domains/:id and its actions: verify, catch-all webhook set/remove/test, delete. */
export function domainPages({ api }: Web) {
  const r = new Hono<WebEnv>();

  const show = async (c: Context<WebEnv>, id: string, s: State = {}) => {
    const domain = await api.get<DomainJson>(c, `/api/domains/${encodeURIComponent(id)}`);
    const routes = await api.get<Page<RouteJson>>(c, `/api/routes?domain_id=${encodeURIComponent(id)}&limit=200`);
    const csrf = c.get('csrf');
    const check = domain.last_check;
    const body = (
      <>
        <PageHead
          title={<>{domain.name} <Badge status={domain.status} /></>}
          actions={
            <div class="row">
              <a class="button" href={`/domains/${domain.id}/routes`}>
                Routes ({routes.data.length})
              </a>
              <a class="button secondary" href={`/messages?domain_id=${domain.id}`}>
                Messages
              </a>
            </div>
          }
        >
          Added <Time ms={domain.created_at} />
          {domain.verified_at ? (
            <>
              {' · verified '}
              <Time ms={domain.verified_at} />
            </>
          ) : null}
        </PageHead>
        <section class="card" aria-labelledby="dns">
          <h2 id="dns">DNS records</h2>
          <p class="muted">
            {domain.status === 'verified'
              ? 'Keep these records published: the MX record brings mail to Mailhook.'
              : 'Publish both records at your DNS provider, then press Verify. New records can take a few minutes to appear.'}
          </p>
          <DnsRecords domain={domain} />
          <Alert error={s.verifyError} />
          <div class="row spaced">
            <PostForm action={`/domains/${domain.id}/verify`} csrf={csrf} class="inline">
              <button type="submit">{domain.status === 'verified' ? 'Check again' : 'Verify'}</button>
            </PostForm>
            {check ? (
              <span class="muted" role="status">
                {check.forced ? (
                  <>
                    Marked verified without DNS <Time ms={check.checked_at} /> (<code>domain verify --force</code>)
                  </>
                ) : (
                  <>
                    Last checked <Time ms={check.checked_at} />: {check.ok ? 'both records found' : 'not all records found yet'}
                  </>
                )}
              </span>
            ) : null}
          </div>
        </section>
        {routes.data.length === 0 && !domain.webhook ? (
          <section class="card">
            <h2>Next: create a route</h2>
            <p>
              Mail is refused until a route or the catch-all webhook below takes it.{' '}
              <a href={`/domains/${domain.id}/routes`}>Create a route</a> to send addresses at {domain.name} to your webhook.
            </p>
          </section>
        ) : null}
        <WebhookPanel domain={domain} csrf={csrf} url={s.url ?? domain.webhook?.url ?? ''} errors={s.webhookErrors ?? noErrors} test={s.test ?? null} />
        <section class="card" aria-labelledby="danger">
          <h2 id="danger">Delete domain</h2>
          <p class="muted">Deletes its routes, stored messages, deliveries and API keys restricted to it.</p>
          <PostForm action={`/domains/${domain.id}/delete`} csrf={csrf} confirm={`Delete ${domain.name} and all its mail?`}>
            <button type="submit" class="danger">
              Delete {domain.name}
            </button>
          </PostForm>
        </section>
      </>
    );
    return render(c, domain.name, body, { section: 'domains', status: formStatus(s.status) });
  };

  const path = (c: Context<WebEnv>, rest = '') => `/api/domains/${encodeURIComponent(c.req.param('id') ?? '')}${rest}`;
  const back = (c: Context<WebEnv>) => c.redirect(`/domains/${encodeURIComponent(c.req.param('id') ?? '')}`, 303);

  r.get('/domains/:id', (c) => show(c, c.req.param('id')));

  r.post('/domains/:id/verify', async (c) => {
    const res = await api.send(c, 'POST', path(c, '/verify'));
    if (res.ok) return back(c);
    if (res.status === 404) throw failure(res);
    return show(c, c.req.param('id'), { verifyError: res.error, status: res.status });
  });

  r.post('/domains/:id/webhook', async (c) => {
    const url = (await readForm(c)).get('url');
    const res = await api.send(c, 'PUT', path(c, '/webhook'), { url });
    if (res.ok) return back(c);
    if (res.status === 404) throw failure(res);
    return show(c, c.req.param('id'), { url, webhookErrors: fieldErrors(res.error, ['url'], 'url'), status: res.status });
  });

  r.post('/domains/:id/webhook/delete', async (c) => {
    const res = await api.send(c, 'DELETE', path(c, '/webhook'));
    if (!res.ok) throw failure(res);
    return back(c);
  });

  r.post('/domains/:id/webhook/test', async (c) => {
    const res = await api.send<WebhookTestJson>(c, 'POST', path(c, '/webhook/test'));
    if (res.status === 404) throw failure(res);
    if (!res.ok) return show(c, c.req.param('id'), { webhookErrors: fieldErrors(res.error, ['url'], 'url'), status: res.status });
    return show(c, c.req.param('id'), { test: res.data });
  });

  r.post('/domains/:id/delete', async (c) => {
    const res = await api.send(c, 'DELETE', path(c));
    if (!res.ok) throw failure(res);
    return c.redirect('/domains', 303);
  });
  return r;
}
