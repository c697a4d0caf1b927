import { Hono } from 'hono';
import type { Web, WebEnv } from '../env.js';
import { rowActionPost } from '../row-action.js';
import { Empty, PageHead, RowAction, Time } from '../ui/components.js';
import { render } from '../ui/render.js';
import type { Page, SuppressionJson } from '../types.js';

/**
 * GET /suppressions (the addresses later sends skip, in address order), POST
 * /suppressions/:address/delete (send to it again). Addresses get here by a hard bounce or a DSN
 * (README, "Suppression"); the API has no way to add one by hand, so neither has this page.
 */
export function suppressionPages({ api }: Web) {
  const r = new Hono<WebEnv>();

  r.get('/suppressions', async (c) => {
    const after = c.req.query('before');
    const page = await api.get<Page<SuppressionJson>>(c, `/api/suppressions?limit=100${after ? `&before=${encodeURIComponent(after)}` : ''}`);
    const csrf = c.get('csrf');
    const body = (
      <>
        <PageHead title="Suppressed addresses">Sends skip these recipients (status <code>suppressed</code>); the other recipients of a send still get it. Remove an address to send to it again.</PageHead>
        <section class="card">
          {page.data.length ? (
            <div class="table-wrap">
              <table class="stack">
                <thead>
                  <tr><th scope="col">Address</th><th scope="col">Why</th><th scope="col">Since</th><th></th></tr>
                </thead>
                <tbody>
                  {page.data.map((s) => (
                    <tr>
                      <td><code>{s.address}</code></td>
                      <td data-label="Why">
                        {s.reason}
                        {s.detail ? <span class="muted"> · {s.detail}</span> : null}
                        {s.send_id ? <> · <a href={`/sent/${encodeURIComponent(s.send_id)}`}>the send</a></> : null}
                      </td>
                      <td data-label="Since"><Time ms={s.created_at} /></td>
                      <td>
                        <RowAction action={`/suppressions/${encodeURIComponent(s.address)}/delete`} csrf={csrf} label="Remove" what={s.address} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <Empty title="No suppressed addresses">
              <p>A recipient whose server refuses mail for good (a 5xx reply, a bounce report, a domain with no mail server) is added here, so that later sends do not keep trying it.</p>
            </Empty>
          )}
          {page.next_cursor ? <p><a href={`/suppressions?before=${encodeURIComponent(page.next_cursor)}`}>More</a></p> : null}
        </section>
      </>
    );
    return render(c, 'Suppressed addresses', body, { section: 'sent' });
  });

  r.post('/suppressions/:address/delete', rowActionPost(api, '/api/suppressions', '/suppressions', 'address'));
  return r;
}
