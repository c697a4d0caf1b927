import type { Child, FC } from 'hono/jsx';
import { assetHref } from '../assets.js';

export type Section = 'domains' | 'messages' | 'blocks' | 'keys' | 'apps' | 'connected' | 'auth';

export interface LayoutProps {
  title: string;
  nonce: string;
  email: string | null;
  csrf: string;
  section?: Section;
  children?: Child;
}

const NAV: [Section, string, string][] = [
  ['domains', '/domains', 'Domains'],
  ['messages', '/messages', 'Messages'],
  ['blocks', '/blocks', 'Blocks'],
  ['keys', '/keys', 'API keys'],
  ['apps', '/apps', 'Apps'],
  ['connected', '/connected-apps', 'Connected apps'],
];

/** The page shell: one stylesheet, one deferred script (nonce'd: the CSP allows nothing else). */
export const Layout: FC<LayoutProps> = ({ title, nonce, email, csrf, section, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{`${title} · Mailhook`}</title>
      <link rel="stylesheet" href={assetHref['app.css']} />
      <link rel="icon" href={assetHref['icon.svg']} type="image/svg+xml" />
      <script src={assetHref['app.js']} nonce={nonce} defer></script>
    </head>
    <body>
      <header class="top">
        <a class="brand" href="/">
          <img src={assetHref['icon.svg']} alt="" />
          Mailhook
        </a>
        {email ? (
          <>
            <nav aria-label="Main">
              {NAV.map(([key, href, label]) => (
                <a href={href} aria-current={section === key ? 'page' : undefined}>
                  {label}
                </a>
              ))}
            </nav>
            <form class="who" method="post" action="/logout">
              <input type="hidden" name="_csrf" value={csrf} />
              <span>{email}</span>
              <button type="submit" class="small">
                Log out
              </button>
            </form>
          </>
        ) : null}
      </header>
      <main>{children}</main>
    </body>
  </html>
);
