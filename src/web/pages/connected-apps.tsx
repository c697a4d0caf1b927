import { Hono } from 'hono';
import type { z } from '@hono/zod-openapi';
import type { ConnectedAppSchema } from '../../api/connected-apps.js';
import type { Web, WebEnv } from '../env.js';
import { rowActionPost } from '../row-action.js';
import { Empty, PageHead, RowAction, Time } from '../ui/components.js';
import { render } from '../ui/render.js';

type ConnectedJson = z.infer<typeof ConnectedAppSchema>;

/** GET /connected-apps (apps you approved), POST /connected-apps/:id/revoke. */
export function connectedAppPages({ api }: Web) {
  const r = new Hono<WebEnv>();

  r.get('/connected-apps', async (c) => {
    const apps = (await api.get<{ data: ConnectedJson[] }>(c, '/api/connected-apps')).data;
    const csrf = c.get('csrf');
    const body = (
      <>
        <PageHead title="Connected apps">Apps you allowed to use your account. Revoking one stops its next request.</PageHead>
        <section class="card">
          {apps.length ? (
            <div class="table-wrap">
              <table class="stack">
                <thead>
                  <tr><th>App</th><th>Scopes</th><th>Approved</th><th>Last used</th><th></th></tr>
                </thead>
                <tbody>
                  {apps.map((a) => (
                    <tr>
                      <td>{a.name}</td>
                      <td data-label="Scopes">{a.scopes.join(', ')}</td>
                      <td data-label="Approved"><Time ms={a.approved_at} /></td>
                      <td data-label="Last used"><Time ms={a.last_used_at} /></td>
                      <td>
                        <RowAction action={`/connected-apps/${a.app_id}/revoke`} csrf={csrf} label="Revoke" what={a.name} confirm={`Revoke “${a.name}”? Its requests fail at once.`} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <Empty title="No connected apps">
              <p>When you approve an app on its consent page, it appears here.</p>
            </Empty>
          )}
        </section>
      </>
    );
    return render(c, 'Connected apps', body, { section: 'connected' });
  });

  r.post('/connected-apps/:id/revoke', rowActionPost(api, '/api/connected-apps', '/connected-apps'));
  return r;
}
