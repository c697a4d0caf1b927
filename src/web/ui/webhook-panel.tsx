import type { FieldErrors } from '../form.js';
import type { DomainJson, WebhookTestJson } from '../types.js';
import { Alert, Badge, Copy, Field, PostForm } from './components.js';

export interface WebhookPanelProps {
  domain: DomainJson;
  csrf: string;
  url: string;
  errors: FieldErrors;
  test: WebhookTestJson | null;
}

const TestResult = ({ test }: { test: WebhookTestJson }) => (
  <div class="card" role="status" id="test-result">
    <h3>Test event result</h3>
    <dl class="facts">
      <dt>Result</dt>
      <dd>
        <Badge status={test.ok ? 'ok' : 'bad'} /> {test.ok ? 'the receiver accepted it' : 'the receiver did not answer 2xx'}
      </dd>
      <dt>Status</dt>
      <dd>{test.status_code ?? 'no response'}</dd>
      <dt>Latency</dt>
      <dd>{test.latency_ms} ms</dd>
      {test.error ? (
        <>
          <dt>Error</dt>
          <dd>{test.error}</dd>
        </>
      ) : null}
    </dl>
    {test.body ? <pre>{test.body}</pre> : null}
  </div>
);

/** The catch-all webhook: URL, secret on demand, test event, change, remove. */
export const WebhookPanel = ({ domain, csrf, url, errors, test }: WebhookPanelProps) => {
  const hook = domain.webhook;
  return (
    <section class="card" aria-labelledby="catch-all">
      <h2 id="catch-all">Catch-all webhook</h2>
      <p class="muted">Receives mail for this domain that no route handles. Leave it unset to refuse such mail during SMTP.</p>
      {hook ? (
        <>
          <dl class="facts">
            <dt>URL</dt>
            <dd>
              <code>{hook.url}</code>
            </dd>
            <dt>Signing secret</dt>
            <dd>
              <details>
                <summary>Reveal secret</summary>
                <code id="webhook-secret">{hook.secret}</code> <Copy value={hook.secret} what="signing secret" />
              </details>
            </dd>
          </dl>
          <div class="row spaced">
            <PostForm action={`/domains/${domain.id}/webhook/test`} csrf={csrf} class="inline">
              <button type="submit" class="secondary">
                Send test event
              </button>
            </PostForm>
            <PostForm action={`/domains/${domain.id}/webhook/delete`} csrf={csrf} class="inline" confirm="Remove the catch-all webhook?">
              <button type="submit" class="danger">
                Remove
              </button>
            </PostForm>
          </div>
          {test ? <TestResult test={test} /> : null}
        </>
      ) : null}
      <Alert error={errors.general} />
      <PostForm action={`/domains/${domain.id}/webhook`} csrf={csrf}>
        <Field
          name="url"
          label={hook ? 'Change URL' : 'Webhook URL'}
          type="url"
          value={url}
          error={errors.fields.url}
          required
          placeholder="https://app.example.com/hooks/mail"
          hint="An https:// URL. Changing it keeps the signing secret."
        />
        <button type="submit">{hook ? 'Save URL' : 'Set webhook'}</button>
      </PostForm>
    </section>
  );
};
