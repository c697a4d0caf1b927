import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Deps } from '../../deps.js';
import type { WebEnv } from '../env.js';
import { SignedOut, WebError } from '../errors.js';
import { endSession } from '../session.js';
import { pageStatus, render } from '../ui/render.js';

const TITLES: Record<number, string> = {
  403: 'Not allowed',
  404: 'Not found',
  413: 'Too large',
  429: 'Slow down',
  500: 'Something went wrong',
  502: 'A service did not answer',
};

export function errorPage(c: Context<WebEnv>, status: number, message: string) {
  const s = pageStatus(status);
  const title = TITLES[s] ?? 'Request refused';
  return render(
    c,
    title,
    <div class="card narrow">
      <h1>{title}</h1>
      <p>{message}</p>
      <p>
        <a href={c.get('user') ? '/domains' : '/login'}>{c.get('user') ? 'Back to your domains' : 'Sign in'}</a>
      </p>
    </div>,
    { status: s },
  );
}

/** 404 for a page that does not exist, or a resource that is not yours: the same page. */
export const notFoundPage = (c: Context<WebEnv>) => errorPage(c, 404, 'There is nothing here, or it belongs to another account.');

/** The dashboard's one error handler: HTML pages, never the API's JSON. */
export function onWebError(deps: Deps) {
  return (err: Error, c: Context<WebEnv>) => {
    if (err instanceof SignedOut) {
      endSession(deps, c);
      return c.redirect('/login', 303);
    }
    if (err instanceof WebError) return err.status === 404 ? notFoundPage(c) : errorPage(c, err.status, err.message);
    if (err instanceof HTTPException && err.status < 500) {
      const message = err.status === 403 ? 'This form has expired or did not come from this dashboard. Reload the page and try again.' : err.message;
      return errorPage(c, err.status, message || 'Bad request');
    }
    deps.log.error('unhandled dashboard error', { err, path: c.req.path });
    return errorPage(c, 500, 'The server failed to show this page. Try again; if it keeps failing, check the server log.');
  };
}
