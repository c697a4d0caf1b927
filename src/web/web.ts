import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import { NONCE, secureHeaders } from 'hono/secure-headers';
import type { Deps } from '../deps.js';
import { apiCaller } from './api-client.js';
import { assetRoutes } from './assets.js';
import type { Web, WebEnv } from './env.js';
import { authPages } from './pages/auth.js';
import { blockPages } from './pages/blocks.js';
import { domainPages } from './pages/domain.js';
import { domainListPages } from './pages/domains.js';
import { notFoundPage, onWebError } from './pages/error.js';
import { googlePages } from './pages/google.js';
import { appPages } from './pages/apps.js';
import { connectedAppPages } from './pages/connected-apps.js';
import { checkBeforeSignIn, consentPages } from './pages/consent.js';
import { keyPages } from './pages/keys.js';
import { messageContentPages } from './pages/message-content.js';
import { messagePages } from './pages/message.js';
import { messageListPages } from './pages/messages.js';
import { routeEditPages } from './pages/route-edit.js';
import { routePages } from './pages/routes.js';
import { sendPages } from './pages/sends.js';
import { suppressionPages } from './pages/suppressions.js';
import { checkCsrfToken, loadSession, requireUser } from './session.js';
import { isPage } from './paths.js';

const pagesOnly =
  (mw: MiddlewareHandler<WebEnv>): MiddlewareHandler<WebEnv> =>
  (c, next) =>
    isPage(c.req.path) ? mw(c, next) : next();

/** Form posts are small; a pasted message for the dry run may be as large as the API allows. */
const limit = (max: number) =>
  bodyLimit({
    maxSize: max,
    onError: () => {
      throw new HTTPException(413, { message: `form larger than ${max} bytes` });
    },
  });

/**
 * The dashboard, server-rendered at `/` on the same Hono app as the API. Every read and write
 * goes through `api` (app.request on /api/…), so validation, ownership and errors are the API's.
 */
export function webRoutes(deps: Deps, app: Hono): Hono<WebEnv> {
  const web = new Hono<WebEnv>();
  const ctx: Web = { deps, api: apiCaller(app) };
  const publicOrigin = new URL(deps.config.publicUrl).origin;
  const small = limit(1024 * 1024);
  const large = limit(10 * 1024 * 1024);

  web.use(
    '*',
    pagesOnly(
      secureHeaders({
        contentSecurityPolicy: {
          defaultSrc: ["'none'"],
          scriptSrc: [NONCE],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          // The message HTML is a separate, sandboxed same-origin document (message-content.ts).
          frameSrc: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          baseUri: ["'none'"],
        },
        xFrameOptions: 'DENY',
        // Not no-referrer: with it, browsers send "Origin: null" on form posts.
        referrerPolicy: 'same-origin',
        strictTransportSecurity: deps.config.publicUrl.startsWith('https:') ? 'max-age=15552000' : false,
        // A page that sets its own CSP (the message HTML) keeps it.
        overwrite: false,
      }),
    ),
  );
  web.use('*', pagesOnly((c, next) => (c.req.path.endsWith('/routes/test') ? large(c, next) : small(c, next))));
  web.use('*', pagesOnly(csrf({ origin: (origin, c) => origin === publicOrigin || origin === new URL(c.req.url).origin })));
  web.use('*', pagesOnly(loadSession(deps)));
  web.use('*', pagesOnly(checkCsrfToken));
  web.use('/oauth/authorize', checkBeforeSignIn(deps));
  web.use('*', pagesOnly(requireUser));
  web.use('*', pagesOnly(async (c, next) => {
    await next();
    // Pages show secrets (webhook secrets, new API keys): never keep them in a cache.
    if (!c.req.path.startsWith('/static/')) c.res.headers.set('Cache-Control', 'no-store');
  }));

  web.route('/', assetRoutes());
  web.get('/', (c) => c.redirect('/domains', 303));
  web.route('/', authPages(ctx));
  web.route('/', googlePages(ctx));
  web.route('/', domainListPages(ctx));
  web.route('/', domainPages(ctx));
  web.route('/', routePages(ctx));
  web.route('/', routeEditPages(ctx));
  web.route('/', messageListPages(ctx));
  web.route('/', messagePages(ctx));
  web.route('/', messageContentPages(ctx));
  web.route('/', sendPages(ctx));
  web.route('/', suppressionPages(ctx));
  web.route('/', blockPages(ctx));
  web.route('/', keyPages(ctx));
  web.route('/', appPages(ctx));
  web.route('/', connectedAppPages(ctx));
  web.route('/', consentPages(ctx));
  web.get('*', (c, next) => (isPage(c.req.path) ? notFoundPage(c) : next()));
  web.onError(onWebError(deps));
  return web;
}
