import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostileSmtp, openData, type HostileSmtp } from './harness.js';

/**
 * headerList() unfolds
 * only CRLF/LF followed by white space, so a bare CR inside a header line reaches the payload's
 * headers[] ("Subject" = "bare\rBcc: victim@…"). The comment there promises one line per value;
 * a receiver that copies headers into an outgoing message or a log gets a line break chosen by
 * the sender (mailparser's own subject is already cleaned: "bare Bcc: …").
 * Fixed: in headerList(), after unfolding, `.replace(/[\r\n]+/g, ' ')` on the value (and the name).
 */
let h: HostileSmtp;
beforeEach(async () => {
  h = await hostileSmtp();
});
afterEach(() => h.close());

describe('parse-header-bare-cr: header values are one line', () => {
  it('a bare CR in a header does not reach headers[]', async () => {
    const c = await openData(h.port);
    const raw = readFileSync(new URL('../fixtures/hostile/parse-header-bare-cr.eml', import.meta.url));
    expect(await c.send(Buffer.concat([raw, Buffer.from('.\r\n')]))).toMatch(/^250 /);
    c.destroy();
    const [m] = await h.deps.repos.messages.list({ userId: h.owner.userId, limit: 1 });
    for (const hd of m!.parsed.headers) {
      expect(hd.name).not.toMatch(/[\r\n]/);
      expect(hd.value).not.toMatch(/[\r\n]/);
    }
  });
});
