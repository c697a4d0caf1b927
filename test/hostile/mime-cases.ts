/**
 * Pathological MIME, built in code (the big ones would be megabytes as fixtures). Each case is
 * the raw message as it goes over SMTP (CRLF lines).
 */
export interface MimeCase {
  name: string;
  raw: () => Buffer;
}

const CRLF = '\r\n';
const head = (subject: string, extra = '') =>
  `From: Sender <sender@sender.test>${CRLF}To: x@example.com${CRLF}Subject: ${subject}${CRLF}MIME-Version: 1.0${CRLF}${extra}`;
const b64 = (s: string) => Buffer.from(s).toString('base64');

function nested(depth: number): string {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    open += `Content-Type: multipart/mixed; boundary="b${i}"${CRLF}${CRLF}--b${i}${CRLF}`;
    close = `${CRLF}--b${i}--${CRLF}` + close;
  }
  return open + `Content-Type: text/plain${CRLF}${CRLF}deep inside${CRLF}` + close;
}

function nestedRfc822(depth: number): string {
  let open = '';
  for (let i = 0; i < depth; i++) open += `Content-Type: message/rfc822${CRLF}${CRLF}Subject: level ${i}${CRLF}`;
  return open + `Content-Type: text/plain${CRLF}${CRLF}innermost${CRLF}`;
}

function siblings(n: number): string {
  let body = '';
  for (let i = 0; i < n; i++) {
    // Inline text parts: the limit on MIME nodes is what is tested here, not attachment storage.
    body += `--S${CRLF}Content-Type: text/plain${CRLF}${CRLF}part ${i}${CRLF}`;
  }
  return `Content-Type: multipart/mixed; boundary=S${CRLF}${CRLF}${body}--S--${CRLF}`;
}

export const MIME_CASES: MimeCase[] = [
  {
    name: 'missing closing boundary',
    raw: () =>
      Buffer.from(
        head('no close', `Content-Type: multipart/mixed; boundary=B${CRLF}`) +
          `${CRLF}--B${CRLF}Content-Type: text/plain${CRLF}${CRLF}first${CRLF}--B${CRLF}Content-Type: application/pdf${CRLF}Content-Disposition: attachment; filename="a.pdf"${CRLF}Content-Transfer-Encoding: base64${CRLF}${CRLF}${b64('%PDF-1.4 whole')}${CRLF}`,
      ),
  },
  {
    name: 'wrong closing boundary',
    raw: () =>
      Buffer.from(
        head('wrong close', `Content-Type: multipart/mixed; boundary=B${CRLF}`) +
          `${CRLF}--B${CRLF}Content-Type: text/plain${CRLF}${CRLF}text${CRLF}--WRONG--${CRLF}`,
      ),
  },
  {
    name: 'truncated mid-attachment',
    raw: () =>
      Buffer.from(
        head('truncated', `Content-Type: multipart/mixed; boundary=B${CRLF}`) +
          `${CRLF}--B${CRLF}Content-Type: text/plain${CRLF}${CRLF}hi${CRLF}--B${CRLF}Content-Type: image/png${CRLF}Content-Transfer-Encoding: base64${CRLF}Content-Disposition: attachment; filename="cut.png"${CRLF}${CRLF}${b64('x'.repeat(3000)).slice(0, 1001)}`,
      ),
  },
  { name: 'headers only, no blank line, no body', raw: () => Buffer.from(`From: a@sender.test${CRLF}Subject: only headers`) },
  { name: 'empty message', raw: () => Buffer.alloc(0) },
  { name: '5,000 sibling parts', raw: () => Buffer.from(head('siblings') + siblings(5000)) },
  { name: '500 levels of multipart nesting', raw: () => Buffer.from(head('deep') + nested(500)) },
  { name: '500 levels of message/rfc822 nesting', raw: () => Buffer.from(head('deep rfc822') + nestedRfc822(500)) },
  {
    name: 'a 2 MB header block (20,000 header lines)',
    raw: () => Buffer.from(head('huge head') + Array.from({ length: 20_000 }, (_, i) => `X-Spam-${i}: ${'v'.repeat(90)}`).join(CRLF) + `${CRLF}${CRLF}body${CRLF}`),
  },
  {
    name: 'one 900 KB folded header',
    raw: () => Buffer.from(head('folded') + 'X-Folded: start' + `${CRLF} ${'w'.repeat(70)}`.repeat(12_000) + `${CRLF}${CRLF}body${CRLF}`),
  },
  {
    name: 'a To: with 100,000 addresses',
    raw: () =>
      Buffer.from(
        `From: a@sender.test${CRLF}Subject: crowd${CRLF}To: ` + Array.from({ length: 100_000 }, (_, i) => `u${i}@x.io`).join(`,${CRLF} `) + `${CRLF}${CRLF}hello${CRLF}`,
      ),
  },
  {
    name: 'a To: of 100,000 nested groups and comments',
    raw: () => Buffer.from(`From: a@sender.test${CRLF}Subject: groups${CRLF}To: ${'g:(c(c(c '.repeat(20_000)}${CRLF}${CRLF}x${CRLF}`),
  },
  {
    name: 'invalid encoded words and unknown charsets',
    raw: () =>
      Buffer.from(
        `From: =?utf-8?B?!!!not base64!!!?= <a@sender.test>${CRLF}Subject: =?x-unknown-charset-9?Q?caf=E9?= =?utf-8?Q?=ZZ=?= =?utf-8?B?8J+Y?=${CRLF}` +
          `Content-Type: text/plain; charset="x-evil-charset"${CRLF}${CRLF}body in an unknown charset \xe9\xff${CRLF}`,
        'latin1',
      ),
  },
  {
    name: '100,000 encoded words in a Subject',
    raw: () => Buffer.from(`From: a@sender.test${CRLF}Subject: ${'=?utf-8?q?a?= '.repeat(100_000)}${CRLF}${CRLF}x${CRLF}`),
  },
  {
    name: 'RFC 2231 filename in 10,000 continuations',
    raw: () =>
      Buffer.from(
        head('continuations', `Content-Type: multipart/mixed; boundary=B${CRLF}`) +
          `${CRLF}--B${CRLF}Content-Type: application/octet-stream${CRLF}Content-Disposition: attachment;` +
          Array.from({ length: 10_000 }, (_, i) => `${CRLF} filename*${i}*=UTF-8''%41`).join(';') +
          `${CRLF}${CRLF}data${CRLF}--B--${CRLF}`,
      ),
  },
  {
    name: 'broken base64 and quoted-printable',
    raw: () =>
      Buffer.from(
        head('broken encodings', `Content-Type: multipart/mixed; boundary=B${CRLF}`) +
          `${CRLF}--B${CRLF}Content-Type: text/plain${CRLF}Content-Transfer-Encoding: quoted-printable${CRLF}${CRLF}bad =ZZ escape =${CRLF}=0${CRLF}` +
          `--B${CRLF}Content-Type: application/octet-stream${CRLF}Content-Transfer-Encoding: base64${CRLF}Content-Disposition: attachment; filename="bad.bin"${CRLF}${CRLF}@@@@not*base64====AAA=${CRLF}A${CRLF}--B--${CRLF}`,
      ),
  },
  {
    name: 'pathological HTML (100,000 nested elements, attribute soup)',
    raw: () =>
      Buffer.from(
        head('html bomb', `Content-Type: text/html${CRLF}`) + CRLF + '<div>'.repeat(100_000) + `<a href="${'x'.repeat(100_000)}` + '<b '.repeat(50_000) + CRLF,
      ),
  },
  {
    name: 'linkify worst case in text',
    raw: () =>
      Buffer.from(head('links', `Content-Type: text/plain${CRLF}`) + CRLF + ('a.'.repeat(2000) + 'com http://' + 'x.'.repeat(500) + ' www.' + '@'.repeat(500) + CRLF).repeat(200)),
  },
  {
    name: 'invalid UTF-8 and 8-bit bytes in headers',
    raw: () => Buffer.concat([Buffer.from(`From: \xff\xfe <a@sender.test>${CRLF}Subject: \xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80${CRLF}${CRLF}`, 'latin1'), Buffer.from('ok\r\n')]),
  },
];

/** From headers whose display name (encoded) looks like an address: the address must be the real one. */
export const FORGERIES: { name: string; from: string; want: string }[] = [
  { name: 'encoded display name spelling an address', from: `=?utf-8?B?${b64('ceo@bank.example')}?= <attacker@evil.test>`, want: 'attacker@evil.test' },
  { name: 'encoded display name with its own angle address', from: `=?utf-8?B?${b64('CEO <ceo@bank.example>')}?= <attacker@evil.test>`, want: 'attacker@evil.test' },
  { name: 'encoded word as the whole address', from: `=?utf-8?Q?ceo=40bank.example?=`, want: '' },
  { name: 'encoded angle address alone', from: `=?utf-8?B?${b64('<ceo@bank.example>')}?=`, want: '' },
  { name: 'encoded address then a real one', from: `=?utf-8?B?${b64('ceo@bank.example,')}?= attacker@evil.test`, want: 'attacker@evil.test' },
];
