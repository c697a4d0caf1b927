import type { Context } from 'hono';
import { Hono } from 'hono';
import type { Web, WebEnv } from '../env.js';
import { fieldErrors, noErrors, readForm, type FieldErrors } from '../form.js';
import { endSession, safeNext, startSession } from '../session.js';
import { Alert, Field } from '../ui/components.js';
import { formStatus, render } from '../ui/render.js';

type Mode = 'login' | 'signup';

interface Props {
  mode: Mode;
  email: string;
  next: string;
  errors: FieldErrors;
  google: boolean;
}

const TEXT = {
  login: { title: 'Sign in', button: 'Sign in', other: ['No account yet?', '/signup', 'Create one'] },
  signup: { title: 'Create your account', button: 'Create account', other: ['Have an account?', '/login', 'Sign in'] },
} as const;

const AuthForm = ({ mode, email, next, errors, google }: Props) => {
  const t = TEXT[mode];
  return (
    <div class="card narrow">
      <h1>{t.title}</h1>
      <p class="muted">Mailhook turns the email your domains receive into signed webhooks.</p>
      <Alert error={errors.general} />
      <form method="post" action={`/${mode}`}>
        <input type="hidden" name="next" value={next} />
        <Field name="email" label="Email" type="email" value={email} error={errors.fields.email} required autocomplete="email" />
        <Field
          name="password"
          label="Password"
          type="password"
          error={errors.fields.password}
          required
          autocomplete={mode === 'login' ? 'current-password' : 'new-password'}
          hint={mode === 'signup' ? 'At least 8 characters.' : undefined}
        />
        <button type="submit">{t.button}</button>
      </form>
      {google ? (
        <a class="google button secondary" href="/auth/google">
          Sign in with Google
        </a>
      ) : null}
      <p class="muted">
        {t.other[0]} <a href={t.other[1]}>{t.other[2]}</a>
      </p>
    </div>
  );
};

/** GET/POST /login and /signup, POST /logout: the API's auth endpoints behind a cookie. */
export function authPages({ deps, api }: Web) {
  const r = new Hono<WebEnv>();
  const show = (c: Context<WebEnv>, mode: Mode, email: string, next: string, errors: FieldErrors, status = 200) =>
    render(c, TEXT[mode].title, <AuthForm mode={mode} email={email} next={next} errors={errors} google={!!deps.config.google} />, {
      section: 'auth',
      status: formStatus(status),
    });

  for (const mode of ['login', 'signup'] as const) {
    r.get(`/${mode}`, (c) => {
      if (c.get('user')) return c.redirect(safeNext(c.req.query('next')), 303);
      return show(c, mode, '', c.req.query('next') ?? '', noErrors);
    });
    r.post(`/${mode}`, async (c) => {
      const form = await readForm(c);
      const email = form.get('email');
      const res = await api.send<{ token: string }>(c, 'POST', `/api/auth/${mode}`, { email, password: form.raw('password') });
      if (!res.ok) return show(c, mode, email, form.get('next'), fieldErrors(res.error, ['email', 'password']), res.status);
      startSession(deps, c, res.data.token);
      return c.redirect(safeNext(form.get('next')), 303);
    });
  }

  r.post('/logout', async (c) => {
    await api.send(c, 'POST', '/api/auth/logout');
    endSession(deps, c);
    return c.redirect('/login', 303);
  });
  return r;
}
