import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { messageJson } from '../../src/api/message-json.js';
import { blobFiles, hostileSmtp, type HostileSmtp } from './harness.js';

/**
 * Attachment names are the sender's text. They are kept as data (payload, API) but never
 * become a storage key or a path, and /att always serves a download whose Content-Disposition
 * cannot be broken out of, point into a folder, or spoof an extension with bidi controls.
 */
const fixture = (name: string) => readFileSync(new URL(`../fixtures/hostile/${name}`, import.meta.url));

let h: HostileSmtp;
let id: string;
let links: { filename: string; url: string }[];
beforeAll(async () => {
  h = await hostileSmtp();
  const info = await h.smtp.transport.sendMail({ envelope: { from: 'mallory@sender.test', to: ['x@example.com'] }, raw: fixture('att-names-hostile.eml') });
  expect(info.response).toMatch(/^250 /);
  id = /msg_\w+/.exec(info.response ?? '')![0];
  const m = (await h.deps.repos.messages.getById(id))!;
  links = messageJson(h.deps.config, m, await h.deps.repos.messages.attachments(id)).attachments.map((a) => ({ filename: a.filename, url: a.url! }));
});
afterAll(() => h.close());

const att = (path: string) => createApp(h.deps).request(path.replace(h.deps.config.publicUrl, ''));

describe('hostile attachment names', () => {
  it('every attachment is stored under msg/<id>/<index>, and nothing else exists in the blob store', async () => {
    const atts = await h.deps.repos.messages.attachments(id);
    expect(atts).toHaveLength(11);
    for (const a of atts) expect(a.blobKey).toBe(`msg/${id}/${a.index}`);
    // Files, and the small blobs kept in the database (INLINE_BLOB_BYTES): the same keys either way.
    const inline = (h.deps.db.prepare('SELECT key FROM blobs').all() as { key: string }[]).map((r) => r.key);
    const files = [...blobFiles(h.deps), ...inline].sort();
    expect(files).toEqual([`msg/${id}/raw.eml`, ...atts.map((a) => `msg/${id}/${a.index}`)].sort());
  });

  it('the names are kept as the sender wrote them (data, not paths), but for control characters', async () => {
    const names = (await h.deps.repos.messages.attachments(id)).map((a) => a.filename);
    expect(names).toContain('../../../../etc/passwd');
    // filename*=UTF-8''invoice%0D%0AX-Injected%3A%20yes%0D%0A.txt: each CRLF is one space (README "MIME").
    expect(names).toContain('invoice X-Injected: yes .txt');
    expect(names).toContain('invoice\u202efdp.exe');
    expect(names.filter((n) => n === 'report.pdf')).toHaveLength(2);
  });

  it('each one downloads with its own bytes and a Content-Disposition that cannot be broken', async () => {
    const bodies = new Set<string>();
    for (const { filename, url } of links) {
      const res = await att(url);
      expect(res.status, filename).toBe(200);
      bodies.add(await res.text());
      const cd = res.headers.get('content-disposition')!;
      // One quoted ASCII name, one RFC 8187 name; no way out of either.
      expect(cd, filename).toMatch(/^attachment; filename="[^"\\\p{Cc}]*"; filename\*=UTF-8''[^\s";]*$/u);
      const [ascii] = /filename="([^"]*)"/.exec(cd)!.slice(1);
      const utf8 = decodeURIComponent(/filename\*=UTF-8''(.*)$/.exec(cd)![1]!);
      for (const name of [ascii!, utf8]) {
        expect(name, filename).not.toMatch(/[/\\\p{Cc}\p{Cf}]/u);
        expect(name.startsWith('.'), filename).toBe(false);
        expect(name.length).toBeGreaterThan(0);
        expect(name.length).toBeLessThanOrEqual(200);
      }
      expect(res.headers.get('x-injected')).toBeNull();
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    }
    // The duplicates are two objects, not one overwritten by the other.
    expect(bodies.has('first report') && bodies.has('second report')).toBe(true);
    expect(bodies.size).toBe(11);
  });

  it('a Content-Disposition parameter smuggled in a name stays inside the name', async () => {
    const quoteBreak = links.find((l) => l.filename.includes('other.exe'))!;
    const cd = (await att(quoteBreak.url)).headers.get('content-disposition')!;
    const [, quoted, extended] = /^attachment; filename="([^"]*)"; filename\*=UTF-8''([^\s";]*)$/.exec(cd)!;
    expect(quoted).toBe('_quoted_; filename=other.exe');
    expect(decodeURIComponent(extended!)).toBe(quoted);
  });

  it('a 10,000-character name is cut to 200 characters in the download, kept whole as data', async () => {
    const name = 'n'.repeat(10_000) + '.pdf';
    const info = await h.smtp.transport.sendMail({
      from: 'a@sender.test',
      to: 'x@example.com',
      subject: 'long name',
      attachments: [{ filename: name, content: Buffer.from('long'), contentType: 'application/pdf' }],
    });
    const mid = /msg_\w+/.exec(info.response ?? '')![0];
    const [a] = messageJson(h.deps.config, (await h.deps.repos.messages.getById(mid))!, await h.deps.repos.messages.attachments(mid)).attachments;
    expect(a!.filename).toBe(name);
    const res = await att(a!.url!);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('long');
    const [, quoted] = /filename="([^"]*)"/.exec(res.headers.get('content-disposition')!)!;
    expect(quoted).toBe('n'.repeat(200));
    expect((await h.deps.repos.messages.attachments(mid))[0]!.blobKey).toBe(`msg/${mid}/0`);
  });
});
