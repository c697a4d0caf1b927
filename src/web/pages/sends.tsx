import { Hono } from 'hono';
import type { Web, WebEnv } from '../env.js';
import { failure } from '../api-client.js';
import { Badge, Empty, PageHead, PostForm, Time } from '../ui/components.js';
import { render } from '../ui/render.js';
import type { Page, SendJson } from '../types.js';

/** GET /sent (the account's sent mail, newest first), GET /sent/:id (recipients and attempts), POST /sent/:id/retry. */
export function sendPages({ api }: Web) {
  const r = new Hono<WebEnv>();

  r.get('/sent', async (c) => {
    const before = c.req.query('before');
    const page = await api.get<Page<SendJson>>(c, `/api/sends?limit=50${before ? `&before=${encodeURIComponent(before)}` : ''}`);
    const body = (
      <>
        <div class="head">
          <h1>Sent</h1>
          <a class="button secondary" href="/suppressions">Suppressed addresses</a>
        </div>
        {page.data.length === 0 ? (
          <Empty title="Nothing sent yet">
            <p>Send with <code>POST /v1/send</code> (an API key with the <code>send</code> scope), the Reply form of a message, or a <code>forward</code> route.</p>
          </Empty>
        ) : (
          <section class="card">
            <div class="table-wrap">
              <table>
                <thead>
                  <tr><th scope="col">Subject</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Status</th><th scope="col">Sent</th></tr>
                </thead>
                <tbody>
                  {page.data.map((s) => (
                    <tr>
                      <td><a href={`/sent/${s.id}`}>{s.subject || '(no subject)'}</a>{s.kind === 'forward' ? <span class="muted"> · forward</span> : null}</td>
                      <td>{s.from}</td>
                      <td>{s.recipients.map((x) => x.address).join(', ')}</td>
                      <td><Badge status={s.status} /></td>
                      <td><Time ms={s.created_at} /></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {page.next_cursor ? <p><a href={`/sent?before=${encodeURIComponent(page.next_cursor)}`}>Older</a></p> : null}
          </section>
        )}
      </>
    );
    return render(c, 'Sent', body, { section: 'sent' });
  });

  r.get('/sent/:id', async (c) => {
    const s = await api.get<SendJson>(c, `/api/sends/${encodeURIComponent(c.req.param('id'))}`);
    const body = (
      <>
        <PageHead
          title={s.subject || '(no subject)'}
          actions={
            s.recipients.some((x) => x.status === 'deferred' || x.status === 'failed') ? (
              <PostForm action={`/sent/${s.id}/retry`} csrf={c.get('csrf')}>
                <button type="submit" class="secondary">Retry now</button>
              </PostForm>
            ) : null
          }
        >
          From {s.from} · <Time ms={s.created_at} /> · <Badge status={s.status} />
        </PageHead>
        <section class="card">
          <dl class="facts">
            <dt>Message-ID</dt><dd><code>{s.message_id}</code></dd>
            <dt>Kind</dt><dd>{s.kind}{s.source_message_id ? <> of <a href={`/messages/${s.source_message_id}`}>{s.source_message_id}</a></> : null}</dd>
            <dt>Id</dt><dd><code>{s.id}</code></dd>
          </dl>
        </section>
        {s.recipients.map((rc) => (
          <section class="card" aria-label={`Recipient ${rc.address}`}>
            <h2>{rc.address} <Badge status={rc.status} /></h2>
            {rc.next_attempt_at ? <p class="muted">Next attempt <Time ms={rc.next_attempt_at} /></p> : null}
            {rc.attempts?.length ? (
              <div class="table-wrap">
                <table>
                  <thead><tr><th scope="col">Started</th><th scope="col">Server</th><th scope="col">Code</th><th scope="col">Reply</th></tr></thead>
                  <tbody>
                    {rc.attempts.map((a) => (
                      <tr><td><Time ms={a.started_at} /></td><td>{a.mx ?? '—'}</td><td>{a.code ?? '—'}</td><td class="mono">{a.reply ?? a.error ?? (a.finished_at ? '' : 'in flight')}</td></tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : (
              <p class="muted">No attempt yet.</p>
            )}
          </section>
        ))}
      </>
    );
    return render(c, s.subject || 'Sent message', body, { section: 'sent' });
  });

  r.post('/sent/:id/retry', async (c) => {
    const res = await api.send<SendJson>(c, 'POST', `/api/sends/${encodeURIComponent(c.req.param('id'))}/retry`);
    if (!res.ok) throw failure(res);
    return c.redirect(`/sent/${res.data.id}`, 303);
  });
  return r;
}
