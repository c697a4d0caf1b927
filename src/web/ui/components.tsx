import type { Child, FC } from 'hono/jsx';

/** A POST form carrying this session's CSRF token. */
export const PostForm: FC<{ action: string; csrf: string; class?: string; confirm?: string; children?: Child }> = (p) => (
  <form method="post" action={p.action} class={p.class} data-confirm={p.confirm}>
    <input type="hidden" name="_csrf" value={p.csrf} />
    {p.children}
  </form>
);

/** A page's heading: its title, a line on what the page shows, and its actions (at the right) if any. */
export const PageHead: FC<{ title: Child; children?: Child; actions?: Child }> = (p) => (
  <div class="head">
    <div>
      <h1>{p.title}</h1>
      <p>{p.children}</p>
    </div>
    {p.actions}
  </div>
);

/**
 * A table row's own button (Delete, Revoke, Unblock, Remove): a POST for that one row, named for
 * screen readers by what it acts on. One that asks first (`confirm`: it cannot be undone) is a
 * danger button; the others are secondary.
 */
export const RowAction: FC<{ action: string; csrf: string; label: string; what: string; confirm?: string }> = (p) => (
  <PostForm action={p.action} csrf={p.csrf} class="inline" confirm={p.confirm}>
    <button type="submit" class={p.confirm ? 'danger small' : 'secondary small'} aria-label={`${p.label} ${p.what}`}>{p.label}</button>
  </PostForm>
);

export interface FieldProps {
  name: string;
  label: string;
  value?: string;
  type?: string;
  error?: string;
  hint?: Child;
  required?: boolean;
  autocomplete?: string;
  placeholder?: string;
  min?: number;
  max?: number;
}

const fieldId = (name: string) => `f-${name.replace(/[^a-z0-9]+/gi, '-')}`;

/** A labelled input, its hint, and the API's message for it (announced with the field). */
export const Field: FC<FieldProps> = (p) => {
  const id = fieldId(p.name);
  const described = [p.hint ? `${id}-hint` : '', p.error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class="field">
      <label for={id}>{p.label}</label>
      <input
        id={id}
        name={p.name}
        type={p.type ?? 'text'}
        value={p.value ?? ''}
        required={p.required}
        autocomplete={p.autocomplete}
        placeholder={p.placeholder}
        min={p.min}
        max={p.max}
        aria-invalid={p.error ? 'true' : undefined}
        aria-describedby={described}
      />
      {p.hint ? (
        <p class="hint" id={`${id}-hint`}>
          {p.hint}
        </p>
      ) : null}
      <FieldError id={`${id}-error`} error={p.error} />
    </div>
  );
};

export const FieldError: FC<{ id?: string; error?: string | null }> = ({ id, error }) =>
  error ? (
    <p class="error" id={id} role="alert">
      {error}
    </p>
  ) : null;

export const Alert: FC<{ error?: string | null }> = ({ error }) =>
  error ? (
    <div class="alert" role="alert">
      {error}
    </div>
  ) : null;

/** Shown only when the script runs (class "js" on <html>); the value stays selectable without it. */
export const Copy: FC<{ value: string; what: string }> = ({ value, what }) => (
  <button type="button" class="copy secondary small" data-copy={value} aria-label={`Copy ${what}`}>
    Copy
  </button>
);

export const Badge: FC<{ status: string }> = ({ status }) => <span class={`badge ${status}`}>{status}</span>;

export const Empty: FC<{ title: string; children?: Child }> = ({ title, children }) => (
  <div class="empty">
    <h2>{title}</h2>
    {children}
  </div>
);

/** UTC on the server; app.js rewrites it in the reader's time zone. */
export const Time: FC<{ ms: number | null }> = ({ ms }) => {
  if (!ms) return <span class="muted">—</span>;
  const iso = new Date(ms).toISOString();
  return <time datetime={iso}>{`${iso.slice(0, 16).replace('T', ' ')} UTC`}</time>;
};

export const bytes = (n: number) =>
  n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
