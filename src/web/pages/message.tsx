import { Hono, type Context } from 'hono';
import { failure } from '../api-client.js';
import type { Web, WebEnv } from '../env.js';
import { Badge, bytes, PageHead, PostForm, Time } from '../ui/components.js';
import { Deliveries } from '../ui/deliveries.js';
import { render } from '../ui/render.js';
import type { DeliveryJson, MessageJson } from '../types.js';
import { fieldErrors, noErrors, readForm, type FieldErrors } from '../form.js';
import { ReplyForm, type ReplyValues } from '../ui/reply-form.js';
import { Badge as StatusBadge } from '../ui/components.js';

const list = (xs: { address: string; name: string }[]) => xs.map((a) => (a.name ? `${a.name} <${a.address}>` : a.address)).join(', ') || '—';

/** GET /messages/:id: the message as the API returns it; POST /deliveries/:id/retry. */
export function messagePages({ api }: Web) {
  const r = new Hono<WebEnv>();

  const show = async (c: Context<WebEnv>, id: string, reply: ReplyValues | null, errors: FieldErrors, status: 200 | 400 | 403 | 409 | 429 = 200) => {
    const m = await api.get<MessageJson>(c, `/api/messages/${encodeURIComponent(id)}`);
    const values: ReplyValues = reply ?? {
      from: m.envelope.rcpt_to[0] ?? '',
      to: m.reply_to[0]?.address || m.from.address,
      subject: /^re:/i.test(m.subject) ? m.subject : `Re: ${m.subject}`,
      text: '',
    };
    const body = (
      <>
        <PageHead
          title={m.subject || '(no subject)'}
          actions={
            <div>
              <a class="button secondary" href={`/messages/${m.id}/raw`} download>Download .eml</a>{' '}
              {m.from.address || m.envelope.mail_from ? (
                <PostForm action={`/messages/${m.id}/block-sender`} csrf={c.get('csrf')} class="inline" confirm={`Refuse all mail from ${m.from.address || m.envelope.mail_from}?`}>
                  <button type="submit" class="danger">Block sender</button>
                </PostForm>
              ) : null}
            </div>
          }
        >
          From {list([m.from])} · received <Time ms={m.received_at} />
        </PageHead>
        <section class="card">
          <dl class="facts">
            <dt>To</dt><dd>{list(m.to)}</dd>
            {m.cc.length ? <><dt>Cc</dt><dd>{list(m.cc)}</dd></> : null}
            <dt>Envelope</dt><dd>MAIL FROM <code>{m.envelope.mail_from || '<>'}</code> · RCPT TO <code>{m.envelope.rcpt_to.join(', ')}</code></dd>
            <dt>Client</dt><dd>{m.envelope.remote_ip} (HELO {m.envelope.helo}){m.envelope.tls ? ' · TLS' : ''}</dd>
            <dt>Authentication</dt>
            <dd>{(['spf', 'dkim', 'dmarc'] as const).map((k) => <>{k.toUpperCase()} <Badge status={m.auth[k] || 'none'} />{' '}</>)}</dd>
            <dt>Size</dt><dd>{bytes(m.size)} · <code>{m.id}</code></dd>
            {m.parse_error ? <><dt>Parse error</dt><dd class="bad-mark">{m.parse_error}</dd></> : null}
          </dl>
        </section>
        {m.html ? (
          <section class="card" aria-labelledby="html-body">
            <h2 id="html-body">HTML</h2>
            {/* No allow-scripts, no allow-same-origin: the mail runs nothing and reaches nothing. */}
            <iframe class="mail" title="HTML body of the message" src={`/messages/${m.id}/html`} sandbox="allow-popups allow-popups-to-escape-sandbox" referrerpolicy="no-referrer"></iframe>
          </section>
        ) : null}
        <section class="card" aria-labelledby="text-body">
          <h2 id="text-body">Text</h2>
          {m.text ? <pre>{m.text}</pre> : <p class="muted">No text part.</p>}
        </section>
        {m.attachments.length ? (
          <section class="card" aria-labelledby="attachments">
            <h2 id="attachments">Attachments</h2>
            <ul>
              {m.attachments.map((a) => (
                <li>
                  {a.url ? <a href={a.url}>{a.filename || `attachment ${a.index}`}</a> : <span>{a.filename} (removed after 7 days)</span>}{' '}
                  <span class="muted">{a.content_type} · {bytes(a.size)}</span>
                </li>
              ))}
            </ul>
          </section>
        ) : null}
        <Deliveries deliveries={m.deliveries} csrf={c.get('csrf')} domainId={m.domain_id} />
        {m.forwards?.length ? (
          <section class="card" aria-labelledby="forwards">
            <h2 id="forwards">Forwards</h2>
            <ul>
              {m.forwards.map((f) => (
                <li>
                  <a href={`/sent/${f.id}`}>{f.recipients.map((x) => x.address).join(', ')}</a> <StatusBadge status={f.status} />
                </li>
              ))}
            </ul>
          </section>
        ) : null}
        <ReplyForm messageId={m.id} csrf={c.get('csrf')} values={values} errors={errors} />
        <section class="card">
          <details>
            <summary>All headers ({m.headers.length})</summary>
            <div class="table-wrap">
              <table>
                <tbody>{m.headers.map((h) => <tr><th scope="row">{h.name}</th><td class="mono">{h.value}</td></tr>)}</tbody>
              </table>
            </div>
          </details>
        </section>
      </>
    );
    return render(c, m.subject || 'Message', body, { section: 'messages', status });
  };

  r.get('/messages/:id', (c) => show(c, c.req.param('id'), null, noErrors));

  r.post('/messages/:id/reply', async (c) => {
    const f = await readForm(c);
    const values: ReplyValues = { from: f.get('from'), to: f.get('to'), subject: f.get('subject'), text: f.raw('text') };
    const res = await api.send<{ id: string }>(c, 'POST', '/v1/send', { ...values, reply_to_message_id: c.req.param('id') });
    if (res.ok) return c.redirect(`/sent/${res.data.id}`, 303);
    const status = ([400, 403, 409, 429] as const).find((s) => s === res.status);
    if (!status) throw failure(res);
    return show(c, c.req.param('id'), values, fieldErrors(res.error, ['from', 'to', 'subject', 'text']), status);
  });

  r.post('/deliveries/:id/retry', async (c) => {
    const res = await api.send<DeliveryJson>(c, 'POST', `/api/deliveries/${encodeURIComponent(c.req.param('id'))}/retry`);
    if (!res.ok) throw failure(res);
    return c.redirect(`/messages/${res.data.message_id}#${res.data.id}`, 303);
  });
  return r;
}
