import { execFile } from 'node:child_process';
import { generateKeyPairSync, sign as rsaSign } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { dkimVerify } from 'mailauth';
import { describe, expect, it } from 'vitest';
import { sign } from '../../src/send/compose.js';
import { rsaSha256OnThread, signingThread } from '../../src/send/sign-thread.js';
import { asyncResourceTypes } from '../helpers/async-resources.js';
import { staticResolver } from '../helpers/sending.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const record = { name: 'sel1._domainkey.example.com', type: 'TXT' as const, value: `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}` };
const signer = { domain: 'example.com', selector: 'sel1', privateKey };
const message = () => Buffer.from('From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n');
const verified = async (raw: Buffer) => (await dkimVerify(raw, { resolver: staticResolver([record]) })).results[0]?.status.result;

/** The nice value of each thread of this process (field 19 of /proc/self/task/TID/stat), by TID. */
function niceByThread(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
      out.set(tid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

describe('the signing thread (sign-thread.ts)', () => {
  it('starts with the first signature, not before (a server that only receives never starts it)', () => {
    // The first test of this file: importing compose, dkim-sign and sign-thread started nothing.
    expect(signingThread()).toBeNull();
  });

  it('makes the RSA signature on a thread of its own at nice 10, not on the event loop nor on libuv pool', async () => {
    const before = niceByThread();
    const types = await asyncResourceTypes(() => sign(message(), signer));
    expect(types).not.toContain('SIGNREQUEST');
    expect(signingThread()).not.toBeNull();
    if (process.platform === 'linux') {
      const niced = [...niceByThread()].filter(([tid, nice]) => !before.has(tid) && nice === 10);
      expect(niced).toHaveLength(1);
    }
  });

  it('gives the same bytes as crypto.sign (RSA PKCS#1 v1.5 is deterministic)', async () => {
    const data = Buffer.from('from:a@example.com\r\nsubject:x\r\ndkim-signature:v=1; b=', 'latin1');
    expect((await rsaSha256OnThread(data, privateKey)).equals(rsaSign('sha256', data, privateKey))).toBe(true);
  });

  it('rejects with the error of a bad key, as crypto.sign does, and keeps signing after it', async () => {
    await expect(sign(message(), { ...signer, privateKey: publicKey })).rejects.toThrow(/private|key/i);
    expect(await verified(await sign(message(), signer))).toBe('pass');
  });

  it('replaces a thread that ended, and asks the new one for the signatures the old one had not given', async () => {
    await sign(message(), signer);
    const old = signingThread()!;
    const pending = [sign(message(), signer), sign(message(), signer)];
    await old.terminate();
    const signed = await Promise.all(pending);
    for (const raw of signed) expect(await verified(raw)).toBe('pass');
    expect(signingThread()).not.toBe(old);
    expect(signingThread()).not.toBeNull();
  });

  it('rejects a signature whose thread ended twice, never leaving it pending', async () => {
    await sign(message(), signer);
    const first = signingThread()!;
    const pending = sign(message(), signer);
    const outcome = pending.then(() => 'signed', (err: Error) => err.message);
    await first.terminate();
    // The retry went to a new thread; it is ended too before it answers (or it has answered: then
    // the signature was given, which is fine, but the test wants the other path, so it loops).
    const second = signingThread();
    expect(second).not.toBe(first);
    if (second) await second.terminate();
    expect(await outcome).toMatch(/^(signing thread ended|signed$)/);
    // And the next signature gets a third thread.
    expect(await verified(await sign(message(), signer))).toBe('pass');
  });

  it('does not keep a process alive once its signatures are made (unref)', async () => {
    const script = `
      import { generateKeyPairSync } from 'node:crypto';
      import { sign } from './src/send/compose.ts';
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const out = await sign(Buffer.from('From: a@example.com\\r\\n\\r\\nx\\r\\n'), { domain: 'example.com', selector: 's', privateKey });
      console.log(out.subarray(0, 15).toString());`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 20_000 });
    expect(stdout.trim()).toBe('DKIM-Signature:');
  });
});
