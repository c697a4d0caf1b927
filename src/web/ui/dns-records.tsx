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

// The page renders whatever the API holds, even a check without records (one stored by `--force`).
const checkOf = (domain: DomainJson, type: string): Check | undefined =>
  Array.isArray(domain.last_check?.records) ? domain.last_check.records.find((r) => r.type === type) : undefined;

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
            </td>
            <td data-label="Name">
              <code>{rec.name}</code> <Copy value={rec.name} what={`${rec.type} record name`} />
            </td>
            <td data-label="Value">
              <code>{rec.value}</code> <Copy value={rec.value} what={`${rec.type} record value`} />
            </td>
            <td data-label="Priority">{rec.priority ?? '—'}</td>
            <td data-label="Last check">
              <CheckResult check={checkOf(domain, rec.type)} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  </div>
);
