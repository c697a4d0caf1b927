import { Hono, type Context } from 'hono';
import { failure } from '../api-client.js';
import type { Web, WebEnv } from '../env.js';
import { fieldErrors, noErrors, readForm, type FieldErrors } from '../form.js';
import { Badge, Empty, PageHead } from '../ui/components.js';
import { DryRun, emptyDryRun, type DryRunInput } from '../ui/dry-run.js';
import { formStatus, render } from '../ui/render.js';
import { emptyRoute, formValues, ROUTE_FIELDS, routeBody, RouteForm, type RouteValues } from '../ui/route-form.js';
import type { DomainJson, DryRunJson, MessageSummaryJson, Page, RouteJson } from '../types.js';

/** The order the router runs them in (db/routes.ts enabledForDomain): priority, then age. */
const runOrder = (a: RouteJson, b: RouteJson) => a.priority - b.priority || (a.id < b.id ? -1 : 1);

const RouteTable = ({ domainId, routes }: { domainId: string; routes: RouteJson[] }) => (
  <div class="table-wrap">
    <table class="stack">
      <thead>
        <tr>
          <th>Priority</th>
          <th>Pattern</th>
          <th>Filters</th>
          <th>Action</th>
          <th>Stop</th>
          <th></th>
        </tr>
      </thead>
      <tbody>
        {routes.map((r) => (
          <tr>
            <td data-label="Priority">{r.priority}</td>
            <td data-label="Pattern">
              <code>{r.match}</code> {r.enabled ? null : <Badge status="disabled" />}
            </td>
            <td data-label="Filters">
              {r.filters ? Object.entries(r.filters).map(([k, v]) => <div>{`${k}: ${typeof v === 'object' ? `${v.name} ~ ${v.value}` : v}`}</div>) : <span class="muted">—</span>}
            </td>
            <td data-label="Action">
              {r.action}
              {r.destination ? <> → <code>{r.destination}</code></> : null}
            </td>
            <td data-label="Stop">{r.stop ? 'yes' : 'no'}</td>
            <td>
              <a href={`/domains/${domainId}/routes/${r.id}`} aria-label={`Edit route ${r.match}`}>Edit</a>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  </div>
);

interface State {
  values?: RouteValues;
  errors?: FieldErrors;
  dryRun?: DryRunInput;
  dryRunErrors?: FieldErrors;
  result?: DryRunJson | null;
  status?: number;
}

/** GET/POST /domains/:id/routes (the list in run order, create), POST …/routes/test (dry run). */
export function routePages({ api }: Web) {
  const r = new Hono<WebEnv>();

  const show = async (c: Context<WebEnv>, s: State = {}) => {
    const id = encodeURIComponent(c.req.param('id') ?? '');
    const domain = await api.get<DomainJson>(c, `/api/domains/${id}`);
    const routes = (await api.get<Page<RouteJson>>(c, `/api/routes?domain_id=${id}&limit=200`)).data.sort(runOrder);
    const messages = (await api.get<Page<MessageSummaryJson>>(c, `/api/messages?domain_id=${id}&limit=20`)).data;
    const csrf = c.get('csrf');
    const body = (
      <>
        <PageHead title={<>Routes for {domain.name}</>}>
          They run in this order; every matching route fires until one with “stop” does. <a href={`/domains/${domain.id}`}>Back to {domain.name}</a>
        </PageHead>
        <section class="card">
          {routes.length ? (
            <RouteTable domainId={domain.id} routes={routes} />
          ) : (
            <Empty title="No routes yet">
              <p>Create one below: for a start, send every address at {domain.name} (<code>*@{domain.name}</code>) to your webhook.</p>
            </Empty>
          )}
        </section>
        <section class="card" aria-labelledby="new-route">
          <h2 id="new-route">New route</h2>
          <RouteForm action={`/domains/${domain.id}/routes`} csrf={csrf} values={s.values ?? emptyRoute(domain.name)} errors={s.errors ?? noErrors} submit="Create route" />
        </section>
        <DryRun domainId={domain.id} csrf={csrf} input={s.dryRun ?? emptyDryRun} errors={s.dryRunErrors ?? noErrors} messages={messages} routes={routes} result={s.result ?? null} />
      </>
    );
    return render(c, `Routes · ${domain.name}`, body, { section: 'domains', status: formStatus(s.status) });
  };

  r.get('/domains/:id/routes', (c) => show(c));

  r.post('/domains/:id/routes', async (c) => {
    const values = formValues(await readForm(c));
    const res = await api.send(c, 'POST', '/api/routes', { domain_id: c.req.param('id'), ...routeBody(values) });
    if (res.ok) return c.redirect(`/domains/${encodeURIComponent(c.req.param('id'))}/routes`, 303);
    if (res.status === 404) throw failure(res);
    return show(c, { values, errors: fieldErrors(res.error, ROUTE_FIELDS), status: res.status });
  });

  r.post('/domains/:id/routes/test', async (c) => {
    const form = await readForm(c);
    const input = { raw: form.raw('raw'), messageId: form.get('message_id'), recipient: form.get('recipient') };
    const res = await api.send<DryRunJson>(c, 'POST', '/api/routes/test', {
      domain_id: c.req.param('id'),
      raw: input.raw.trim() ? input.raw : undefined,
      message_id: input.messageId || undefined,
      recipient: input.recipient || undefined,
    });
    if (res.ok) return show(c, { dryRun: input, result: res.data });
    if (res.status === 404 && !input.messageId) throw failure(res);
    return show(c, { dryRun: input, dryRunErrors: fieldErrors(res.error, ['recipient', 'raw', 'message_id']), status: res.status });
  });
  return r;
}
