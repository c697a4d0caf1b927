import type { FieldErrors } from '../form.js';
import type { DryRunJson, MessageSummaryJson, RouteJson } from '../types.js';
import { Alert, Badge, Field, FieldError, PostForm } from './components.js';

export interface DryRunInput {
  raw: string;
  messageId: string;
  recipient: string;
}

export const emptyDryRun: DryRunInput = { raw: '', messageId: '', recipient: '' };

const Result = ({ result, routes }: { result: DryRunJson['results'][number]; routes: RouteJson[] }) => {
  const label = (id: string) => routes.find((r) => r.id === id)?.match ?? id;
  return (
    <div class="card">
      <h3>
        {result.recipient} <Badge status={result.rcpt.accept ? 'ok' : 'bad'} />
      </h3>
      <p>
        RCPT TO: <code>{result.rcpt.code}</code> {result.rcpt.message}
      </p>
      {result.fired.length ? (
        <ul>
          {result.fired.map((f) => (
            <li>
              Fires <code>{label(f.route_id)}</code> → {f.action}
              {f.destination ? <> to <code>{f.destination}</code></> : null} — {f.reason}
            </li>
          ))}
        </ul>
      ) : (
        <p>{result.catch_all ? <>No route fires: the catch-all webhook <code>{result.catch_all.url}</code> gets it.</> : 'No route fires.'}</p>
      )}
      {result.trace.length ? (
        <div class="table-wrap">
          <table class="stack">
            <thead>
              <tr>
                <th>Route</th>
                <th>Matched</th>
                <th>Why</th>
              </tr>
            </thead>
            <tbody>
              {result.trace.map((t) => (
                <tr>
                  <td><code>{label(t.route_id)}</code></td>
                  <td data-label="Matched">{t.matched ? <span class="ok-mark">✓</span> : <span class="bad-mark">✗</span>}</td>
                  <td data-label="Why">{t.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
};

export interface DryRunProps {
  domainId: string;
  csrf: string;
  input: DryRunInput;
  errors: FieldErrors;
  messages: MessageSummaryJson[];
  routes: RouteJson[];
  result: DryRunJson | null;
}

/** POST /api/routes/test as a form: paste a message or pick a stored one; nothing is delivered. */
export const DryRun = (p: DryRunProps) => (
  <section class="card" aria-labelledby="dry-run" id="dry-run-panel">
    <h2 id="dry-run">Dry run</h2>
    <p class="muted">Which routes would fire for a message, and why. Nothing is stored or delivered.</p>
    <Alert error={p.errors.general} />
    <PostForm action={`/domains/${p.domainId}/routes/test#dry-run-panel`} csrf={p.csrf}>
      <div class="field">
        <label for="f-message_id">A stored message</label>
        <select id="f-message_id" name="message_id">
          <option value="">— none: use the pasted message below —</option>
          {p.messages.map((m) => (
            <option value={m.id} selected={p.input.messageId === m.id}>
              {`${m.subject || '(no subject)'} — from ${m.from.address || m.envelope.mail_from || '?'}`}
            </option>
          ))}
        </select>
        <FieldError error={p.errors.fields.message_id} />
      </div>
      <div class="field">
        <label for="f-raw">Or paste a raw message</label>
        <textarea id="f-raw" name="raw" placeholder={'From: ada@sender.test\nTo: support@example.com\nSubject: Hello\n\nHi!'}>
          {p.input.raw}
        </textarea>
        <FieldError error={p.errors.fields.raw} />
      </div>
      <Field name="recipient" label="Recipient (optional)" value={p.input.recipient} error={p.errors.fields.recipient}
        hint="Default: the message's recipients at this domain." />
      <button type="submit" class="secondary">Run dry run</button>
    </PostForm>
    {p.result ? p.result.results.map((res) => <Result result={res} routes={p.routes} />) : null}
  </section>
);
