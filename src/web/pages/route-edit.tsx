import { Hono, type Context } from 'hono';
import { failure } from '../api-client.js';
import type { Web, WebEnv } from '../env.js';
import { WebError } from '../errors.js';
import { fieldErrors, noErrors, readForm, type FieldErrors } from '../form.js';
import { PageHead, PostForm, Time } from '../ui/components.js';
import { formStatus, render } from '../ui/render.js';
import { formValues, ROUTE_FIELDS, routeBody, RouteForm, routeValues, type RouteValues } from '../ui/route-form.js';
import type { DomainJson, RouteJson } from '../types.js';

/** GET/POST /domains/:id/routes/:rid (edit), POST …/:rid/delete. */
export function routeEditPages({ api }: Web) {
  const r = new Hono<WebEnv>();

  const load = async (c: Context<WebEnv>) => {
    const domain = await api.get<DomainJson>(c, `/api/domains/${encodeURIComponent(c.req.param('id') ?? '')}`);
    const route = await api.get<RouteJson>(c, `/api/routes/${encodeURIComponent(c.req.param('rid') ?? '')}`);
    // A route of another of your domains under this URL is as missing as anyone else's.
    if (route.domain_id !== domain.id) throw new WebError(404, 'route not found');
    return { domain, route };
  };

  const show = async (c: Context<WebEnv>, s: { values?: RouteValues; errors?: FieldErrors; status?: number } = {}) => {
    const { domain, route } = await load(c);
    const csrf = c.get('csrf');
    const base = `/domains/${domain.id}/routes`;
    const body = (
      <>
        <PageHead title="Edit route">
          <code>{route.match}</code> on {domain.name} · updated <Time ms={route.updated_at} /> · <a href={base}>All routes</a>
        </PageHead>
        <section class="card">
          <RouteForm action={`${base}/${route.id}`} csrf={csrf} values={s.values ?? routeValues(route)} errors={s.errors ?? noErrors} submit="Save route" />
        </section>
        {route.secret ? (
          <section class="card">
            <h2>Signing secret</h2>
            <p class="muted">Deliveries of this route are signed with it (Standard Webhooks).</p>
            <details>
              <summary>Reveal secret</summary>
              <code>{route.secret}</code>
            </details>
          </section>
        ) : null}
        <section class="card">
          <PostForm action={`${base}/${route.id}/delete`} csrf={csrf} confirm="Delete this route?">
            <button type="submit" class="danger">
              Delete route
            </button>
          </PostForm>
        </section>
      </>
    );
    return render(c, 'Edit route', body, { section: 'domains', status: formStatus(s.status) });
  };

  r.get('/domains/:id/routes/:rid', (c) => show(c));

  r.post('/domains/:id/routes/:rid', async (c) => {
    const { domain, route } = await load(c);
    const values = formValues(await readForm(c));
    const res = await api.send(c, 'PATCH', `/api/routes/${route.id}`, routeBody(values));
    if (res.ok) return c.redirect(`/domains/${domain.id}/routes`, 303);
    if (res.status === 404) throw failure(res);
    return show(c, { values, errors: fieldErrors(res.error, ROUTE_FIELDS), status: res.status });
  });

  r.post('/domains/:id/routes/:rid/delete', async (c) => {
    const { domain, route } = await load(c);
    const res = await api.send(c, 'DELETE', `/api/routes/${route.id}`);
    if (!res.ok) throw failure(res);
    return c.redirect(`/domains/${domain.id}/routes`, 303);
  });
  return r;
}
