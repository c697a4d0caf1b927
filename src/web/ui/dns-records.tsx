import type { DomainJson } from '../types.js';
import { Copy } from './components.js';

type Check = NonNullable<DomainJson['last_check']>['records'][number];

const CheckResult = ({ check }: { check: Check | undefined }) => {
  if (!check) return <span class="muted">not checked</span>;
  if (check.ok) return <span class="ok-mark">✓ found</span>;
  return (
    <span>
      <span class="bad-mark">✗ </span>
      {check.error ?? (check.found.length ? `found ${check.found.join(', ')}` : 'no record found')}
    </span>
  );
};

/** DKIM and SPF are TXT records too: their buttons and checks are told apart by purpose. */
const label = (rec: DomainJson['records'][number]) => (rec.purpose === 'dkim' ? 'DKIM' : rec.purpose === 'spf' ? 'SPF' : rec.type);
// The page renders whatever the API holds, even a check without records (one stored by `--force`).
const checkOf = (domain: DomainJson, rec: DomainJson['records'][number]): Check | undefined =>
  Array.isArray(domain.last_check?.records)
    ? domain.last_check.records.find((r) => (r.purpose ? r.purpose === rec.purpose : r.type === rec.type))
    : undefined;

/** The records to publish, each with copy buttons and the last verification's verdict. */
export const DnsRecords = ({ domain }: { domain: DomainJson }) => (
  <div class="table-wrap">
    <table class="stack">
      <thead>
        <tr>
          <th>Type</th>
          <th>Name</th>
          <th>Value</th>
          <th>Priority</th>
          <th>Last check</th>
        </tr>
      </thead>
      <tbody>
        {domain.records.map((rec) => (
          <tr>
            <td data-label="Type">
              <strong>{rec.type}</strong>
              {label(rec) !== rec.type ? <span class="muted"> ({label(rec)}, for sending)</span> : null}
            </td>
            <td data-label="Name">
              <code>{rec.name}</code> <Copy value={rec.name} what={`${label(rec)} record name`} />
            </td>
            <td data-label="Value">
              <code>{rec.value}</code> <Copy value={rec.value} what={`${label(rec)} record value`} />
            </td>
            <td data-label="Priority">{rec.priority ?? '—'}</td>
            <td data-label="Last check">
              <CheckResult check={checkOf(domain, rec)} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  </div>
);
