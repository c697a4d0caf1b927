import type { DeliveryJson } from '../types.js';
import { Badge, PostForm, Time } from './components.js';

const Attempts = ({ d }: { d: DeliveryJson }) =>
  d.attempts?.length ? (
    <div class="table-wrap">
      <table class="stack">
        <thead>
          <tr><th>Started</th><th>Status</th><th>Latency</th><th>Response or error</th></tr>
        </thead>
        <tbody>
          {d.attempts.map((a) => (
            <tr>
              <td data-label="Started"><Time ms={a.started_at} /></td>
              <td data-label="Status">{a.status_code ?? (a.finished_at ? '—' : 'in flight')}</td>
              <td data-label="Latency">{a.latency_ms === null ? '—' : `${a.latency_ms} ms`}</td>
              <td data-label="Response">{a.error ? <span class="bad-mark">{a.error}</span> : <code>{a.response_body || '(empty)'}</code>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  ) : (
    <p class="muted">No attempt yet: it is queued.</p>
  );

/** Each webhook delivery of a message: status, attempt log, and Retry. */
export const Deliveries = ({ deliveries, csrf, domainId }: { deliveries: DeliveryJson[]; csrf: string; domainId: string }) => (
  <section class="card" aria-labelledby="deliveries">
    <h2 id="deliveries">Deliveries</h2>
    {deliveries.length === 0 ? (
      <p class="muted">
        No webhook fired for this message: its route stores only, or no route or catch-all took it.{' '}
        <a href={`/domains/${domainId}/routes#dry-run-panel`}>Try the dry run</a> to see why.
      </p>
    ) : null}
    {deliveries.map((d) => (
      <div class="delivery" id={d.id}>
        <div class="row">
          <Badge status={d.status} />
          <code>{d.url}</code>
          <span class="muted">
            {d.attempt_count} attempt{d.attempt_count === 1 ? '' : 's'}
            {d.status === 'pending' && d.next_attempt_at ? <> · next <Time ms={d.next_attempt_at} /></> : null}
          </span>
          <PostForm action={`/deliveries/${d.id}/retry`} csrf={csrf} class="inline">
            <button type="submit" class="secondary small">{d.status === 'delivered' ? 'Send again' : 'Retry now'}</button>
          </PostForm>
        </div>
        <p class="muted">webhook-id <code>{d.id}</code>{d.route_id ? null : ' · catch-all webhook'}</p>
        <Attempts d={d} />
      </div>
    ))}
  </section>
);
