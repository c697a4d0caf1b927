import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Auth } from './guard.js';
import { HttpError } from '../errors.js';

export type ApiEnv = { Variables: { auth: Auth } };

type Issue = { path: PropertyKey[]; message: string };

/** "field.path: what is wrong", so the client knows which field to fix. */
export function describeIssues(issues: readonly Issue[], target: string): string {
  const where = (path: PropertyKey[]) => (path.length ? path.map(String).join('.') : target === 'json' ? 'body' : target);
  return issues
    .slice(0, 5)
    .map((i) => `${where(i.path)}: ${i.message}`)
    .join('; ');
}

/** A router whose validation failures become HttpError(400), answered by app.onError. */
export function router(): OpenAPIHono<ApiEnv> {
  return new OpenAPIHono<ApiEnv>({
    defaultHook: (result) => {
      if (!result.success) throw new HttpError(400, describeIssues(result.error.issues, result.target));
    },
  });
}

export const ErrorSchema = z.object({ error: z.string() }).openapi('Error');

const ERROR_TEXT: Record<number, string> = {
  400: 'Malformed request: the message names the field',
  401: 'No credential, or an unknown, expired or revoked one',
  403: 'Missing scope, or an API key where a session is required',
  404: 'Unknown, or not yours',
  409: 'Conflict',
  413: 'Request body too large',
  429: 'Rate limited; see Retry-After',
  502: 'Upstream failed',
};

/** The `{ error }` responses a route can give, for the OpenAPI document. */
export function errors(...codes: (keyof typeof ERROR_TEXT & number)[]) {
  return Object.fromEntries(
    codes.map((code) => [code, { description: ERROR_TEXT[code]!, content: { 'application/json': { schema: ErrorSchema } } }]),
  );
}

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
});

export const bearer = [{ Bearer: [] }];

export const IdParam = z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' }, description: 'The resource id (dom_…, rte_…, msg_…, dlv_…, key_…)' }) });

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50).openapi({ description: '1..200, default 50' }),
  before: z.string().max(64).optional().openapi({ description: 'next_cursor of the previous page' }),
});

export const page = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), next_cursor: z.string().nullable() });

/** Repositories are asked for limit + 1 rows: the extra one only says whether there is a next page. */
export function paginate<T extends { id: string }, J>(rows: T[], limit: number, toJson: (row: T) => J) {
  const items = rows.slice(0, limit);
  return { data: items.map(toJson), next_cursor: rows.length > limit ? (items[items.length - 1]?.id ?? null) : null };
}
