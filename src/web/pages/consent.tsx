import { Hono, type Context, type MiddlewareHandler } from 'hono';
import type { Deps } from '../../deps.js';
import { approve, checkAuthorize, deny, type AuthorizeRequest, type Checked, type Params } from '../../oauth/authorize.js';
import { describeScope } from '../../oauth/scopes.js';
import type { Web, WebEnv } from '../env.js';
import { readForm } from '../form.js';
import { PostForm } from '../ui/components.js';
import { render } from '../ui/render.js';
import { errorPage } from './error.js';

/**
 * The dashboard's policy, except that the form may also lead to the app: Chromium checks
 * form-action on every redirect that follows a form post, so 'self' alone would block the
 * redirect back to the app after Approve or Deny. Only the origin is named (after a redirect
 * the path is not compared anyway); CSP host sources cannot spell an IPv6 literal, so [::1]
 * needs the scheme. The form itself only ever posts to this same page.
 */
export function consentCsp(nonce: string, redirectUri: string): string {
  const url = new URL(redirectUri);
  const target = url.hostname.startsWith('[') ? 'http:' : url.origin;
  return `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'self'; img-src 'self' data:; form-action 'self' ${target}; frame-ancestors 'none'; base-uri 'none'`;
}

const Consent = ({ req, email, csrf }: { req: AuthorizeRequest; email: string; csrf: string }) => (
  <div class="card narrow">
    <h1>Authorize {req.app.name}</h1>
    <p>
      <strong>{req.app.name}</strong> wants to use your Mailhook account <strong>{email}</strong>. It will be able to:
    </p>
    <ul id="scopes">
      {req.scopes.map((s) => (
        <li>
          {describeScope(s)} <code>{s}</code>
        </li>
      ))}
    </ul>
    <p class="muted">
      Either way you go back to <code>{new URL(req.redirectUri).origin}</code>. You can revoke its access at any time under{' '}
      <a href="/connected-apps">Connected apps</a>.
    </p>
    <PostForm action="/oauth/authorize" csrf={csrf} class="row">
      <input type="hidden" name="response_type" value="code" />
      <input type="hidden" name="client_id" value={req.app.clientId} />
      <input type="hidden" name="redirect_uri" value={req.redirectUri} />
      <input type="hidden" name="scope" value={req.scopes.join(' ')} />
      {req.state === null ? null : <input type="hidden" name="state" value={req.state} />}
      <input type="hidden" name="code_challenge" value={req.codeChallenge} />
      <input type="hidden" name="code_challenge_method" value="S256" />
      <button type="submit" name="decision" value="approve">Approve</button>
      <button type="submit" name="decision" value="deny" class="secondary">Deny</button>
    </PostForm>
  </div>
);

// A redirect after a POST is 303 so the browser does not post the form on to the app (RFC 9700 §4.12).
const refuse = (c: Context<WebEnv>, checked: Exclude<Checked, { ok: true }>, status: 302 | 303) =>
  'page' in checked ? errorPage(c, 400, checked.page) : c.redirect(checked.redirect, status);

const queryParams =
  (c: Context<WebEnv>): Params =>
  (name) =>
    c.req.queries(name) ?? [];

/**
 * Runs before the dashboard sends a signed-out visitor to /login: a request that cannot succeed
 * is reported at once (error page, or back to the app), not after the user signed in for nothing.
 */
export function checkBeforeSignIn(deps: Deps): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    if (c.req.method !== 'GET' || c.get('user')) return next();
    const checked = await checkAuthorize(deps, queryParams(c));
    return checked.ok ? next() : refuse(c, checked, 302);
  };
}

/**
 * GET /oauth/authorize (RFC 6749 §4.1.1): the consent page, behind the dashboard's session (a
 * signed-out visitor goes to /login and comes back through its `next`). POST: the decision,
 * guarded by the dashboard's Origin check and CSRF token like every form.
 */
export function consentPages({ deps }: Web) {
  const r = new Hono<WebEnv>();

  r.get('/oauth/authorize', async (c) => {
    const checked = await checkAuthorize(deps, queryParams(c));
    if (!checked.ok) return refuse(c, checked, 302);
    c.header('Content-Security-Policy', consentCsp(c.get('secureHeadersNonce') ?? '', checked.req.redirectUri));
    const user = c.get('user')!;
    return render(c, `Authorize ${checked.req.app.name}`, <Consent req={checked.req} email={user.email} csrf={c.get('csrf')} />);
  });

  r.post('/oauth/authorize', async (c) => {
    const form = await readForm(c);
    const checked = await checkAuthorize(deps, (name) => form.all(name));
    if (!checked.ok) return refuse(c, checked, 303);
    const decision = form.get('decision');
    if (decision === 'approve') return c.redirect(await approve(deps, checked.req, c.get('user')!.id), 303);
    if (decision === 'deny') return c.redirect(deny(deps, checked.req), 303);
    return errorPage(c, 400, 'Choose Approve or Deny.');
  });
  return r;
}
