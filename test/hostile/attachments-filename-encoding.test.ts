import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { messageJson } from '../../src/api/message-json.js';
import { hostileSmtp, type HostileSmtp } from './harness.js';

/**
 * Found by this suite, fixed in src/api/attachments.ts: safeFilename cut names at 200 UTF-16
 * code units and kept lone surrogates, and encodeURIComponent threw URIError on them, so a
 * sender naming an attachment 'a' + 4,999 emoji made its /att link answer 500; and ' ( ) were
 * left unescaped in filename*, which RFC 8187's attr-char does not allow.
 */
const fixture = (name: string) => readFileSync(new URL(`../fixtures/hostile/${name}`, import.meta.url));

let h: HostileSmtp;
beforeEach(async () => {
  h = await hostileSmtp();
});
afterEach(() => h.close());

async function deliverAndFetch(file: string): Promise<Response> {
  const info = await h.smtp.transport.sendMail({ envelope: { from: 'mallory@sender.test', to: ['x@example.com'] }, raw: fixture(file) });
  const id = /msg_\w+/.exec(info.response ?? '')![0];
  const [a] = messageJson(h.deps.config, (await h.deps.repos.messages.getById(id))!, await h.deps.repos.messages.attachments(id)).attachments;
  return createApp(h.deps).request(a!.url!.replace(h.deps.config.publicUrl, ''));
}

describe('attachment names that break the Content-Disposition encoder', () => {
  it('att-filename-surrogate-split: a 10,000-character name cut inside a surrogate pair still downloads', async () => {
    const res = await deliverAndFetch('att-filename-surrogate-split.eml');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('long name');
    const cd = res.headers.get('content-disposition')!;
    const name = decodeURIComponent(/filename\*=UTF-8''(.*)$/.exec(cd)![1]!);
    expect([...name].length).toBeLessThanOrEqual(200);
  });

  it("att-filename-rfc8187-attr-chars: ' ( ) are percent-encoded in filename*", async () => {
    const res = await deliverAndFetch('att-filename-rfc8187-attr-chars.eml');
    expect(res.status).toBe(200);
    const cd = res.headers.get('content-disposition')!;
    const ext = /filename\*=UTF-8''(.*)$/.exec(cd)![1]!;
    // RFC 8187 §3.2.1 attr-char / pct-encoded only.
    expect(ext).toMatch(/^(?:[A-Za-z0-9!#$&+\-.^_`|~]|%[0-9A-F]{2})+$/);
    expect(decodeURIComponent(ext)).toBe("O'Brien (final) résumé.pdf");
  });
});
