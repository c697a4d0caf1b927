import type { User } from '../db/users.js';
import type { Deps } from '../deps.js';
import type { ApiCaller } from './api-client.js';

/** Per-request values the dashboard middleware sets (session.ts) and secure-headers' nonce. */
export type WebEnv = {
  Variables: {
    secureHeadersNonce?: string;
    /** The mhs_ session token from the mh_session cookie, when it names a live session. */
    token: string | null;
    user: User | null;
    /** This session's CSRF token ('' when signed out). */
    csrf: string;
  };
};

/** What every page handler needs: deps for config, and the in-process REST API. */
export interface Web {
  deps: Deps;
  api: ApiCaller;
}
