import { describe, expect, it } from 'vitest';
import { testApi } from '../helpers/api.js';

// The dashboard is loaded with the first page request (src/web/lazy.ts); it answers as when it was mounted at start.
describe('the dashboard, loaded with its first page request', () => {
  it('answers concurrent first page requests both, from one load', async () => {
    const api = testApi();
    const pages = await Promise.all([api.app.request('/login'), api.app.request('/signup')]);
    expect(pages.map((r) => r.status)).toEqual([200, 200]);
    expect(await pages[0]!.text()).toContain('Sign in');
  });
});
