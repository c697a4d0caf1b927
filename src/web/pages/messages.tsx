import { Hono } from 'hono';
import type { Deps } from '../../deps.js';
import type { Web, WebEnv } from '../env.js';
import { Alert, Badge, Empty, PageHead, Time } from '../ui/components.js';
import { render } from '../ui/render.js';
import type { DomainJson, MessageSummaryJson, Page } from '../types.js';

const FILTERS = ['from', 'recipient', 'domain_id'] as const;

/**
 * The list API has no delivery status, and asking /api/deliveries per row would spend 50 of the
 * session's 600 requests a minute on one page: read it for the rows the API already returned
 * for this user (ownership was checked there), summarised worst first.
 */
async function deliveryStatus(deps: Deps, messageId: string): Promise<string> {
  const statuses = (await deps.repos.deliveries.forMessage(messageId)).map((d) => d.status);
  if (!statuses.length) return 'stored';
  return (['failed', 'pending', 'delivered'] as const).find((s) => statuses.includes(s)) ?? 'delivered';
}

const addresses = (list: { address: string; name: string }[]) => list.map((a) => a.address).join(', ');

/** GET /messages: searchable (from, recipient, domain), newest first, cursor pages. */
export function messageListPages({ deps, api }: Web) {
  const r = new Hono<WebEnv>();
  r.get('/messages', async (c) => {
    const q = Object.fromEntries(FILTERS.map((k) => [k, (c.req.query(k) ?? '').trim()])) as Record<(typeof FILTERS)[number], string>;
    const before = c.req.query('before') ?? '';
    const params = new URLSearchParams({ limit: '50' });
    for (const k of FILTERS) if (q[k]) params.set(k, q[k]);
    const filtered = FILTERS.some((k) => q[k]);
    if (before) params.set('before', before);
    const domains = (await api.get<Page<DomainJson>>(c, '/api/domains?limit=200')).data;
    const res = await api.send<Page<MessageSummaryJson>>(c, 'GET', `/api/messages?${params}`);
    const page = res.ok ? res.data : { data: [], next_cursor: null };
    const domainName = (id: string) => domains.find((d) => d.id === id)?.name ?? '';
    const newest = new URLSearchParams(FILTERS.filter((k) => q[k]).map((k) => [k, q[k]]));
    const older = new URLSearchParams(newest);
    if (page.next_cursor) older.set('before', page.next_cursor);
    const statuses = await Promise.all(page.data.map((m) => deliveryStatus(deps, m.id)));

    const body = (
      <>
        <PageHead title="Messages">Mail received for your domains, newest first.</PageHead>
        <section class="card">
          <form method="get" action="/messages" class="grid2" role="search">
            <div class="field">
              <label for="q-from">From address</label>
              <input id="q-from" name="from" type="search" value={q.from} placeholder="ada@sender.test" />
            </div>
            <div class="field">
              <label for="q-recipient">Recipient</label>
              <input id="q-recipient" name="recipient" type="search" value={q.recipient} placeholder="support@example.com" />
            </div>
            <div class="field">
              <label for="q-domain">Domain</label>
              <select id="q-domain" name="domain_id">
                <option value="">All domains</option>
                {domains.map((d) => <option value={d.id} selected={q.domain_id === d.id}>{d.name}</option>)}
              </select>
            </div>
            <div class="field row">
              <button type="submit">Search</button>
              {filtered ? <a href="/messages">Clear</a> : null}
            </div>
          </form>
        </section>
        <Alert error={res.ok ? null : res.error} />
        <section class="card">
          {page.data.length ? (
            <div class="table-wrap">
              <table class="stack messages">
                <thead>
                  <tr><th>Received</th><th>From</th><th>To</th><th>Subject</th><th>Delivery</th></tr>
                </thead>
                <tbody>
                  {page.data.map((m, i) => (
                    <tr>
                      <td data-label="Received"><Time ms={m.received_at} /></td>
                      <td data-label="From">{m.from.address || m.envelope.mail_from || '—'}</td>
                      <td data-label="To">{addresses(m.to) || m.envelope.rcpt_to.join(', ')} <span class="muted">{domainName(m.domain_id)}</span></td>
                      <td data-label="Subject" class="subject"><a href={`/messages/${m.id}`}>{m.subject || '(no subject)'}</a></td>
                      <td data-label="Delivery"><Badge status={statuses[i]!} /></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : filtered || before ? (
            <Empty title="No messages match"><p>Filters match exact addresses. <a href="/messages">Show all messages</a></p></Empty>
          ) : domains.length === 0 ? (
            <Empty title="No mail yet"><p>Start by <a href="/domains">adding a domain</a>: mail sent to it shows up here.</p></Empty>
          ) : (
            <Empty title="No mail yet">
              <p>Once a domain is verified and a route (or catch-all) takes an address, send a message to it: it appears here within seconds.</p>
            </Empty>
          )}
          <nav class="pager" aria-label="Pages">
            {before ? <a href={`/messages?${newest}`}>← Newest</a> : <span></span>}
            {page.next_cursor ? <a href={`/messages?${older}`}>Older →</a> : null}
          </nav>
        </section>
      </>
    );
    return render(c, 'Messages', body, { section: 'messages' });
  });
  return r;
}
