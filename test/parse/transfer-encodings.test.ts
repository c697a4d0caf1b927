import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mime, parseRaw } from './parse-raw.js';

const head = (contentType: string) => [
  'From: a@sender.test',
  'To: b@example.com',
  'Subject: t',
  'MIME-Version: 1.0',
  `Content-Type: ${contentType}`,
  '',
];

describe('base64 ends with its padding', () => {
  it('a malformed closing delimiter and the epilogue after the padding are not part of the attachment', async () => {
    const raw = mime(
      ...head('multipart/mixed; boundary=b'),
      '--b',
      'Content-Type: application/octet-stream',
      'Content-Disposition: attachment; filename=ab.bin',
      'Content-Transfer-Encoding: base64',
      '',
      // Two padded segments on lines of pure base64, as some encoders join them: "A" then "B".
      'QQ==',
      'Qg==',
      '--b',
      'Content-Type: text/html',
      'Content-Disposition: attachment; filename=a.html',
      'Content-Transfer-Encoding: base64',
      '',
      'PGh0bWw+Cg==',
      '--b-->',
      'epilogue line',
    );
    // Whatever the chunk boundaries: padding and the line after it may arrive in pieces.
    for (const chunk of [raw.length, 1, 5]) {
      const { parsed, contents } = await parseRaw(raw, chunk);
      expect(parsed.attachments.map((a) => a.filename)).toEqual(['ab.bin', 'a.html']);
      expect(contents[0]!.toString('latin1')).toBe('AB');
      expect(contents[1]!.toString('latin1')).toBe('<html>\n');
      expect(parsed.attachments[1]!.size).toBe(7);
    }
  });
});

// Produced with Python's binascii.b2a_uu (an independent encoder): the bytes 0..255, 45 a line.
const UU_0_TO_255 = [
  "M``$\"`P0%!@<(\"0H+#`T.#Q`1$A,4%187&!D:&QP='A\\@(2(C)\"4F)R@I*BLL",
  "M+2XO,#$R,S0U-C<X.3H[/#T^/T!!0D-$149'2$E*2TQ-3D]045)35%565UA9",
  "M6EM<75Y?8&%B8V1E9F=H:6IK;&UN;W!Q<G-T=79W>'EZ>WQ]?G^`@8*#A(6&",
  "MAXB)BHN,C8Z/D)&2DY25EI>8F9J;G)V>GZ\"AHJ.DI::GJ*FJJZRMKJ^PL;*S",
  "MM+6VM[BYNKN\\O;Z_P,'\"P\\3%QL?(R<K+S,W.S]#1TM/4U=;7V-G:V]S=WM_@",
  "?X>+CY.7FY^CIZNOL[>[O\\/'R\\_3U]O?X^?K[_/W^_P``",
];

describe('uuencoded parts', () => {
  it('x-uuencode, uuencode and x-uue parts are decoded; a part without "begin" is kept as it is', async () => {
    const part = (encoding: string, name: string, lines: string[]) => [
      '--b',
      `Content-Type: application/octet-stream; name="${name}"`,
      `Content-Transfer-Encoding: ${encoding}`,
      '',
      ...lines,
    ];
    const raw = mime(
      ...head('multipart/mixed; boundary=b'),
      // The POSIX uuencode example: "Cat" is "#0V%T".
      ...part('x-uuencode', 'cat.txt', ['begin 644 cat.txt', '#0V%T', '`', 'end']),
      ...part('uuencode', 'all.bin', ['begin 600 all.bin', ...UU_0_TO_255, '`', 'end', 'after the end']),
      ...part('X-UUE', 'cat2.txt', ['begin 644 cat2.txt', '#0V%T', '`', 'end']),
      ...part('x-uuencode', 'plain.txt', ['no begin line here']),
      '--b--',
    );
    const { parsed, contents } = await parseRaw(raw, 17);
    expect(parsed.attachments.map((a) => a.filename)).toEqual(['cat.txt', 'all.bin', 'cat2.txt', 'plain.txt']);
    expect(contents[0]!.toString('latin1')).toBe('Cat');
    expect(contents[1]!.length).toBe(256);
    expect(createHash('sha256').update(contents[1]!).digest('hex')).toBe(
      createHash('sha256').update(Buffer.from(Array.from({ length: 256 }, (_, i) => i))).digest('hex'),
    );
    expect(contents[2]!.toString('latin1')).toBe('Cat');
    expect(contents[3]!.toString('latin1')).toBe('no begin line here');
  });
});
