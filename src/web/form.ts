import type { Context } from 'hono';
import type { WebEnv } from './env.js';

export interface Form {
  /** The field's value, trimmed; '' when absent. */
  get(name: string): string;
  /** The field's value exactly as sent (passwords, pasted messages). */
  raw(name: string): string;
  /** Every value of a repeated field (checkbox groups). */
  all(name: string): string[];
}

/** The posted form. Hono caches the parsed body, so the CSRF check and the page read it once. */
export async function readForm(c: Context<WebEnv>): Promise<Form> {
  const body = await c.req.parseBody({ all: true });
  const values = (name: string) => {
    const v = body[name];
    return (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === 'string');
  };
  return {
    get: (name) => (values(name)[0] ?? '').trim(),
    raw: (name) => values(name)[0] ?? '',
    all: values,
  };
}

/** API messages read "field: what is wrong; other: …" (api/openapi.ts describeIssues). */
export interface FieldErrors {
  fields: Record<string, string>;
  /** What no field on the form claims. */
  general: string | null;
}

/**
 * Splits an API error between the form's fields (by the API's field path) and the rest;
 * `fallback` takes what names no field (e.g. a 409 about the only field of the form).
 */
export function fieldErrors(error: string | null, fields: readonly string[], fallback?: string): FieldErrors {
  const out: FieldErrors = { fields: {}, general: null };
  if (!error) return out;
  const rest: string[] = [];
  for (const part of error.split('; ')) {
    // "path: message", or "path must …" (route filters) where the path stays part of the sentence.
    const m = /^([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*)(: | )(.+)$/i.exec(part);
    const path = m?.[1] ?? '';
    const field = fields.find((f) => path === f) ?? fields.find((f) => path.startsWith(`${f}.`));
    const text = m?.[2] === ': ' ? m[3]! : part;
    if (m && field) out.fields[field] = out.fields[field] ? `${out.fields[field]}; ${text}` : text;
    else rest.push(part);
  }
  if (rest.length && fallback && !out.fields[fallback]) out.fields[fallback] = rest.join('; ');
  else out.general = rest.length ? rest.join('; ') : null;
  return out;
}

export const noErrors: FieldErrors = { fields: {}, general: null };
