import { describe, expect, it } from 'vitest';
import { disagreements, textAgrees } from './compare.js';

describe('textAgrees: Mailhook text against the oracle pieces', () => {
  it('joins pieces with a newline and ignores line endings and trailing blanks', () => {
    expect(textAgrees('one  \r\ntwo\r\n\r\n', ['one\n', 'two'])).toBe(false);
    expect(textAgrees('one\n\ntwo\n', ['one\n', 'two'])).toBe(true);
    expect(textAgrees('one \r\ntwo', ['one', 'two\n\n'])).toBe(true);
  });

  it('lets a null piece (HTML made into text, a header summary) match anything, even nothing', () => {
    expect(textAgrees('plain\nFrom: a@b\nSubject: s\n\ninner', ['plain', null, 'inner'])).toBe(true);
    expect(textAgrees('plain\n\ninner', ['plain', null, 'inner'])).toBe(true);
    expect(textAgrees('anything at all', [null])).toBe(true);
    expect(textAgrees('start\nhtml as text', ['start', null])).toBe(true);
    expect(textAgrees('start', ['start', null])).toBe(true);
  });

  it('still fails on a changed, missing or extra plain piece around a gap', () => {
    expect(textAgrees('plain\nX\ninner', ['plain', null, 'inner!'])).toBe(false);
    expect(textAgrees('X\ninner', ['plain', null, 'inner'])).toBe(false);
    expect(textAgrees('plain\nX\ninner\nmore', ['plain', null, 'inner'])).toBe(false);
    expect(textAgrees('', ['plain'])).toBe(false);
    expect(textAgrees('plain', [])).toBe(false);
    expect(textAgrees('', [])).toBe(true);
  });
});

describe('disagreements', () => {
  const python = { subject: ' Hello ', from: 'a@b.example', text: ['hi'], attachments: [{ filename: 'x.txt', size: 1, sha256: 'ab' }] };
  const mailhook = { subject: 'Hello', from: 'a@b.example', text: 'hi\n', attachments: [{ filename: 'x.txt', size: 1, sha256: 'ab' }] };

  it('agrees on equal readings (subject compared without folding white space at its ends)', () => {
    expect(disagreements(mailhook, python)).toEqual([]);
  });

  it('names each field that differs', () => {
    expect(disagreements({ ...mailhook, from: 'A@b.example' }, python)).toEqual(['from']);
    expect(disagreements({ ...mailhook, subject: 'Hello!' }, python)).toEqual(['subject']);
    expect(disagreements({ ...mailhook, attachments: [{ filename: 'x.txt', size: 1, sha256: 'cd' }] }, python)).toEqual(['attachments']);
    expect(disagreements({ ...mailhook, attachments: [] }, python)).toEqual(['attachments']);
    expect(disagreements({ ...mailhook, text: 'hi there' }, python)).toEqual(['text']);
  });
});
