import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';

const base = () => ({ DATA_DIR: mkdtempSync(join(tmpdir(), 'mailhook-cfg-')), SECRET: 'x'.repeat(40) });

describe('configuration: SPAM_FILTER, RSPAMD_URL, SPAM_TIMEOUT_MS, INLINE_ATTACHMENT_BYTES', () => {
  it('defaults: no spam filter, rspamd on loopback, 1 MiB inline', () => {
    const c = loadConfig(base());
    expect(c).toMatchObject({ spamFilter: null, rspamdUrl: 'http://127.0.0.1:11333', spamTimeoutMs: 5000, inlineAttachmentBytes: 1048576 });
    expect(loadConfig({ ...base(), SPAM_FILTER: 'rspamd', RSPAMD_URL: 'http://spam:11333/' })).toMatchObject({ spamFilter: 'rspamd', rspamdUrl: 'http://spam:11333' });
  });

  it.each([
    ['SPAM_FILTER', 'spamassassin'],
    ['RSPAMD_URL', 'not a url'],
    ['SPAM_TIMEOUT_MS', '-1'],
    ['INLINE_ATTACHMENT_BYTES', 'lots'],
  ])('a bad %s stops start-up naming it', (name, value) => {
    expect(() => loadConfig({ ...base(), [name]: value })).toThrow(new RegExp(`^${name}`));
  });
});
