import { Hono, type Context } from 'hono';
import type { Web, WebEnv } from '../env.js';
import { fieldErrors, noErrors, readForm, type FieldErrors } from '../form.js';
import { Alert, Badge, Empty, Field, PageHead, PostForm, Time } from '../ui/components.js';
import { formStatus, render } from '../ui/render.js';
import type { DomainJson, Page } from '../types.js';

const AddDomain = ({ csrf, name, errors }: { csrf: string; name: string; errors: FieldErrors }) => (
  <section class="card" aria-labelledby="add-domain">
    <h2 id="add-domain">Add a domain</h2>
    <Alert error={errors.general} />
    <PostForm action="/domains" csrf={csrf}>
      <Field
        name="name"
        label="Domain name"
        value={name}
        error={errors.fields.name}
        required
        placeholder="example.com"
        hint="The domain (or subdomain) you want to receive mail at, e.g. inbound.example.com."
      />
      <button type="submit">Add domain</button>
    </PostForm>
  </section>
);

const DomainTable = ({ domains }: { domains: DomainJson[] }) => (
  <section class="card">
    <div class="table-wrap">
      <table class="stack">
        <thead>
          <tr>
            <th>Domain</th>
            <th>Status</th>
            <th>Catch-all webhook</th>
            <th>Added</th>
          </tr>
        </thead>
        <tbody>
          {domains.map((d) => (
            <tr>
              <td>
                <a href={`/domains/${d.id}`}>{d.name}</a>
              </td>
              <td data-label="Status">
                <Badge status={d.status} />
              </td>
              <td data-label="Catch-all">{d.webhook ? <code>{d.webhook.url}</code> : <span class="muted">none</span>}</td>
              <td data-label="Added">
                <Time ms={d.created_at} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  </section>
);

/** GET /domains (list and add form), POST /domains. */
export function domainListPages({ api }: Web) {
  const r = new Hono<WebEnv>();

  const show = async (c: Context<WebEnv>, name: string, errors: FieldErrors, status = 200) => {
    const page = await api.get<Page<DomainJson>>(c, '/api/domains?limit=200');
    const body = (
      <>
        <PageHead title="Domains">Mail for these domains arrives at Mailhook and is routed to your webhooks.</PageHead>
        {page.data.length ? (
          <DomainTable domains={page.data} />
        ) : (
          <section class="card">
            <Empty title="No domains yet">
              <p>
                Add the domain you want to receive mail at. You will get two DNS records to publish (an MX record pointing at
                Mailhook and a TXT record proving the domain is yours), then press Verify.
              </p>
            </Empty>
          </section>
        )}
        <AddDomain csrf={c.get('csrf')} name={name} errors={errors} />
      </>
    );
    return render(c, 'Domains', body, { section: 'domains', status: formStatus(status) });
  };

  r.get('/domains', (c) => show(c, '', noErrors));
  r.post('/domains', async (c) => {
    const name = (await readForm(c)).get('name');
    const res = await api.send<DomainJson>(c, 'POST', '/api/domains', { name });
    if (!res.ok) return show(c, name, fieldErrors(res.error, ['name'], 'name'), res.status);
    return c.redirect(`/domains/${res.data.id}`, 303);
  });
  return r;
}
