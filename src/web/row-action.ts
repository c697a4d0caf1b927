import type { Context } from 'hono';
import { failure, type ApiCaller } from './api-client.js';
import type { WebEnv } from './env.js';

/**
 * The post behind a RowAction (ui/components.tsx): DELETE `${apiBase}/<the row's :param>` as the
 * user, then back to `list` (303). What the API refuses is the error page with its status: the
 * API's ownership and scope checks are the only ones, so another account's row is its 404.
 */
export const rowActionPost = (api: ApiCaller, apiBase: string, list: string, param = 'id') => async (c: Context<WebEnv>) => {
  const res = await api.send(c, 'DELETE', `${apiBase}/${encodeURIComponent(c.req.param(param) ?? '')}`);
  if (!res.ok) throw failure(res);
  return c.redirect(list, 303);
};
