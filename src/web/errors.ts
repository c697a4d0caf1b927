/** A page that cannot be shown: rendered by the dashboard's onError with this status. */
export class WebError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 410 | 413 | 429 | 500 | 502 | 503,
    message: string,
  ) {
    super(message);
  }
}

/** The session cookie names no live session (expired, logged out elsewhere): sign in again. */
export class SignedOut extends Error {}
