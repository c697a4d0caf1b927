import type { Form, FieldErrors } from '../form.js';
import type { RouteJson } from '../types.js';
import { Alert, Field, FieldError, PostForm } from './components.js';

export const ACTIONS = [
  ['webhook', 'webhook (POST it to a URL)'],
  ['store', 'store (keep it only)'],
  ['drop', 'drop (discard it)'],
  ['reject', 'reject (550 during SMTP)'],
] as const;

/** The form's fields, as strings, whether from a route or from a post that failed. */
export interface RouteValues {
  match: string;
  action: string;
  destination: string;
  priority: string;
  stop: boolean;
  enabled: boolean;
  from: string;
  subject: string;
  headerName: string;
  headerValue: string;
}

/** The API field paths this form shows errors next to (form.ts fieldErrors). */
export const ROUTE_FIELDS = ['match', 'action', 'destination', 'priority', 'stop', 'enabled', 'filters.from', 'filters.subject', 'filters.header', 'filters'];

export const emptyRoute = (domain: string): RouteValues => ({
  match: `*@${domain}`,
  action: 'webhook',
  destination: '',
  priority: '100',
  stop: false,
  enabled: true,
  from: '',
  subject: '',
  headerName: '',
  headerValue: '',
});

export const routeValues = (r: RouteJson): RouteValues => ({
  match: r.match,
  action: r.action,
  destination: r.destination ?? '',
  priority: String(r.priority),
  stop: r.stop,
  enabled: r.enabled,
  from: r.filters?.from ?? '',
  subject: r.filters?.subject ?? '',
  headerName: r.filters?.header?.name ?? '',
  headerValue: r.filters?.header?.value ?? '',
});

export const formValues = (f: Form): RouteValues => ({
  match: f.get('match'),
  action: f.get('action'),
  destination: f.get('destination'),
  priority: f.get('priority'),
  stop: f.get('stop') === 'on',
  enabled: f.get('enabled') === 'on',
  from: f.get('from'),
  subject: f.get('subject'),
  headerName: f.get('header_name'),
  headerValue: f.get('header_value'),
});

/** The API body for these values; the API validates everything (and its messages are shown). */
export function routeBody(v: RouteValues) {
  const filters: Record<string, unknown> = {};
  if (v.from) filters.from = v.from;
  if (v.subject) filters.subject = v.subject;
  if (v.headerName || v.headerValue) filters.header = { name: v.headerName, value: v.headerValue };
  return {
    match: v.match,
    action: v.action,
    // The form keeps the URL field whatever the action; only webhook routes may send one.
    destination: v.action === 'webhook' ? v.destination : null,
    priority: v.priority === '' ? undefined : /^\d+$/.test(v.priority) ? Number(v.priority) : v.priority,
    stop: v.stop,
    enabled: v.enabled,
    filters: Object.keys(filters).length ? filters : null,
  };
}

const Check = ({ name, label, checked }: { name: string; label: string; checked: boolean }) => (
  <label class="check">
    <input type="checkbox" name={name} checked={checked} /> {label}
  </label>
);

export const RouteForm = (p: { action: string; csrf: string; values: RouteValues; errors: FieldErrors; submit: string }) => {
  const { values: v, errors: e } = p;
  return (
    <PostForm action={p.action} csrf={p.csrf}>
      <Alert error={e.general} />
      <div class="grid2 wide">
        <Field name="match" label="Recipient pattern" value={v.match} error={e.fields.match} required
          hint={<>Exact <code>support@…</code>, wildcard <code>*@…</code>, <code>orders+*@…</code> or <code>/regex/</code>.</>} />
        <div class="field">
          <label for="f-action">Action</label>
          <select id="f-action" name="action" aria-invalid={e.fields.action ? 'true' : undefined}>
            {ACTIONS.map(([value, label]) => (
              <option value={value} selected={v.action === value}>
                {label}
              </option>
            ))}
          </select>
          <FieldError error={e.fields.action} />
        </div>
        <Field name="destination" label="Webhook URL" type="url" value={v.destination} error={e.fields.destination}
          placeholder="https://app.example.com/hooks/mail" hint="For webhook routes only." />
        <Field name="priority" label="Priority" type="number" min={0} max={10000} value={v.priority} error={e.fields.priority}
          hint="Lower runs first." />
      </div>
      <fieldset>
        <legend>Filters (optional, all must hold)</legend>
        <FieldError error={e.fields.filters} />
        <div class="grid2">
          <Field name="from" label="From" value={v.from} error={e.fields['filters.from']} placeholder="*@stripe.com" />
          <Field name="subject" label="Subject contains" value={v.subject} error={e.fields['filters.subject']} placeholder="invoice" />
          <Field name="header_name" label="Header name" value={v.headerName} error={e.fields['filters.header']} placeholder="X-Priority" />
          <Field name="header_value" label="Header value contains" value={v.headerValue} placeholder="1" />
        </div>
      </fieldset>
      <Check name="stop" label="Stop: later routes do not run when this one fires" checked={v.stop} />
      <Check name="enabled" label="Enabled" checked={v.enabled} />
      <FieldError error={e.fields.stop ?? e.fields.enabled} />
      <p>
        <button type="submit">{p.submit}</button>
      </p>
    </PostForm>
  );
};
