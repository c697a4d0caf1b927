import { Hono, type Context } from 'hono';
import type { Web, WebEnv } from '../env.js';
import { fieldErrors, noErrors, readForm, type FieldErrors } from '../form.js';
import { rowActionPost } from '../row-action.js';
import { Alert, Empty, Field, FieldError, PageHead, PostForm, RowAction, Time } from '../ui/components.js';
import { formStatus, render } from '../ui/render.js';
import type { BlockJson, DomainJson, Page } from '../types.js';

interface State {
  pattern?: string;
  domainId?: string;
  errors?: FieldErrors;
  status?: number;
}

/** GET/POST /blocks (list, add), POST /blocks/:id/delete, POST /messages/:id/block-sender. */
export function blockPages({ api }: Web) {
  const r = new Hono<WebEnv>();

  const show = async (c: Context<WebEnv>, s: State = {}) => {
    const blocks = (await api.get<Page<BlockJson>>(c, '/api/blocks?limit=200')).data;
    const domains = (await api.get<Page<DomainJson>>(c, '/api/domains?limit=200')).data;
    const csrf = c.get('csrf');
    const e = s.errors ?? noErrors;
    const domainName = (id: string | null) => (id ? (domains.find((d) => d.id === id)?.name ?? id) : 'all domains');
    const body = (
      <>
        <PageHead title="Blocked senders">Mail from these senders is refused with 550 during the SMTP session; nothing is stored.</PageHead>
        <section class="card">
          {blocks.length ? (
            <div class="table-wrap">
              <table class="stack">
                <thead>
                  <tr><th>Sender</th><th>For</th><th>Added</th><th></th></tr>
                </thead>
                <tbody>
                  {blocks.map((b) => (
                    <tr>
                      <td><code>{b.pattern}</code></td>
                      <td data-label="For">{domainName(b.domain_id)}</td>
                      <td data-label="Added"><Time ms={b.created_at} /></td>
                      <td>
                        <RowAction action={`/blocks/${b.id}/delete`} csrf={csrf} label="Unblock" what={b.pattern} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <Empty title="No blocked senders">
              <p>Block an address, every address at a domain (<code>*@example.net</code>) or a domain with its subdomains (<code>example.net</code>).</p>
            </Empty>
          )}
        </section>
        <section class="card" aria-labelledby="add-block">
          <h2 id="add-block">Block a sender</h2>
          <Alert error={e.general} />
          <PostForm action="/blocks" csrf={csrf}>
            <Field name="pattern" label="Address, *@domain or domain" value={s.pattern ?? ''} error={e.fields.pattern} required placeholder="*@spam.example" />
            <div class="field">
              <label for="f-domain_id">For mail to</label>
              <select id="f-domain_id" name="domain_id">
                <option value="">All my domains</option>
                {domains.map((d) => <option value={d.id} selected={s.domainId === d.id}>{d.name}</option>)}
              </select>
              <FieldError error={e.fields.domain_id} />
            </div>
            <button type="submit">Block</button>
          </PostForm>
        </section>
      </>
    );
    return render(c, 'Blocked senders', body, { section: 'blocks', status: formStatus(s.status) });
  };

  r.get('/blocks', (c) => show(c));

  r.post('/blocks', async (c) => {
    const form = await readForm(c);
    const input = { pattern: form.get('pattern'), domainId: form.get('domain_id') };
    const res = await api.send<BlockJson>(c, 'POST', '/api/blocks', { pattern: input.pattern, domain_id: input.domainId || null });
    if (!res.ok) {
      const errors = fieldErrors(res.status === 404 ? `domain_id: ${res.error}` : res.error, ['pattern', 'domain_id'], 'pattern');
      return show(c, { ...input, errors, status: res.status === 404 ? 400 : res.status });
    }
    return c.redirect('/blocks', 303);
  });

  r.post('/blocks/:id/delete', rowActionPost(api, '/api/blocks', '/blocks'));

  // The message page's "Block sender": its header From (else the envelope sender), for the whole account.
  r.post('/messages/:id/block-sender', async (c) => {
    const m = await api.get<{ from: { address: string }; envelope: { mail_from: string } }>(c, `/api/messages/${encodeURIComponent(c.req.param('id'))}`);
    const sender = m.from.address || m.envelope.mail_from;
    if (!sender) return show(c, { errors: { fields: {}, general: 'this message names no sender to block' }, status: 400 });
    const res = await api.send<BlockJson>(c, 'POST', '/api/blocks', { pattern: sender });
    // Already blocked is what the user wanted.
    if (!res.ok && res.status !== 409) return show(c, { pattern: sender, errors: fieldErrors(res.error, ['pattern'], 'pattern'), status: res.status });
    return c.redirect('/blocks', 303);
  });
  return r;
}
