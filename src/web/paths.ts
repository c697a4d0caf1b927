import { OAUTH_ENDPOINTS } from '../oauth/routes.js';

/** The API, attachment links and OAuth's machine endpoints keep their own JSON behaviour; everything else is a page. */
export const isPage = (path: string) =>
  !(path === '/api' || path.startsWith('/api/') || path.startsWith('/att/') || path.startsWith('/v1/') || OAUTH_ENDPOINTS.has(path));
