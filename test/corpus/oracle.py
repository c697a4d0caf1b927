#!/usr/bin/env python3
"""An independent reading of test/corpus/public/*.eml for test/e2e/corpus.test.ts.

Regenerate with `npm run corpus:oracle` (python3, standard library only); it rewrites
test/corpus/oracle.json, which is committed: the tests only read the JSON.

Python's `email` package (policy=email.policy.default) does the MIME structure, the headers
(RFC 2047/2231) and the transfer encodings. What Mailhook's fields mean is mailparser's
definition, so this script applies that definition to Python's tree:
- attachments: every leaf part that is not an inline text/plain, text/html or
  message/delivery-status part; a message/rfc822 part counts as one attachment (its bytes)
  unless it says `Content-Disposition: inline` with an identity transfer encoding, in which
  case its own parts are read in its place;
- text: the inline text/plain and message/delivery-status parts in order, joined by "\n".
  Two things in mailparser's text are not read here and appear as null, a gap the test lets
  match anything: text made from HTML (a text/html part outside multipart/alternative when the
  message has text, or an HTML-only message) and the header summary (From:, Subject:, ...)
  mailparser writes before the parts of an inline message.
Charset labels are mapped as browsers map them (WHATWG Encoding Standard): us-ascii and
iso-8859-1 are windows-1252, Shift_JIS is cp932, EUC-KR is cp949, GB2312 is GBK
(oracle_charsets.py); a text part without a charset, or with one nobody knows, is read as UTF-8.
The file is read as SMTP carries it (every line ending in CRLF), as Mailhook receives it.
"""
import binascii
import hashlib
import json
import quopri
import re
import sys
from email import policy
from email.parser import BytesParser
from pathlib import Path

from oracle_charsets import decode_text

HERE = Path(__file__).resolve().parent
TEXT_TYPES = ('text/plain', 'text/html', 'message/delivery-status')

def unflow(text, delsp):
    """RFC 3676 section 4: unstuff, then join each line ending in a space with the next."""
    out, para = [], ''
    for line in text.split('\n'):
        if line.startswith(' '):
            line = line[1:]
        if line.endswith(' ') and line != '-- ':
            para += line[:-1] if delsp else line
        else:
            out.append(para + line)
            para = ''
    if para:
        out.append(para)
    return '\n'.join(out)


# Python parses message/* parts and keeps none of their raw bytes, so the bytes of an attached
# message (for its sha256) and of a delivery-status part are cut from the raw message, along the
# same lines Python split it: walk() checks that both find the same number of parts.
HEADER_LINE = re.compile(rb'(From |[\041-\071\073-\176]*:|[\t ])')


def split_entity(raw):
    """Header block and body of one entity's raw bytes. As in Python's feedparser, the headers
    end at a blank line (dropped) or at the first line that is not a header (kept in the body)."""
    pos = 0
    while pos < len(raw):
        end = raw.find(b'\r\n', pos)
        end = len(raw) if end < 0 else end + 2
        line = raw[pos:end]
        if line == b'\r\n':
            return raw[:pos], raw[end:]
        if not HEADER_LINE.match(line):
            break
        pos = end
    return raw[:pos], raw[pos:]


def split_multipart(body, boundary):
    """RFC 2046 5.1.1: the parts' raw bytes, the CRLF before each delimiter belonging to it."""
    delim = re.compile(rb'(?:^|\r\n)--' + re.escape(boundary.encode('latin-1')) + rb'(--)?[ \t]*(?=\r\n|$)')
    parts, start = [], None
    for m in delim.finditer(body):
        if start is not None:
            parts.append(body[start:m.start()])
        if m.group(1):
            return parts
        start = body.find(b'\r\n', m.end())
        start = len(body) if start < 0 else start + 2
    if start is not None:
        parts.append(body[start:])
    return parts


def transfer_decode(part, body):
    cte = str(part.get('content-transfer-encoding', '')).strip().lower()
    if cte == 'base64':
        return binascii.a2b_base64(body)
    if cte == 'quoted-printable':
        return quopri.decodestring(body)
    return body


class Reader:
    def __init__(self):
        self.text = []
        self.attachments = []
        self.has_text = False

    def walk(self, part, raw, alternative, root):
        ctype = part.get_content_type()
        if ctype.startswith('multipart/'):
            if not part.is_multipart():
                return  # no delimiter line found: all of it is preamble, which RFC 2046 5.1.1 ignores
            raws = split_multipart(split_entity(raw)[1], part.get_boundary() or '')
            children = part.get_payload()
            if len(raws) != len(children):
                raise ValueError(f'{len(children)} parts in Python, {len(raws)} delimited')
            inner = alternative or ctype == 'multipart/alternative'
            for child, child_raw in zip(children, raws):
                self.walk(child, child_raw, inner, False)
            return
        disposition = part.get_content_disposition()
        cte = str(part.get('content-transfer-encoding', '')).strip().lower()
        body = split_entity(raw)[1]
        if ctype == 'message/rfc822' and disposition == 'inline' and cte in ('', '7bit', '8bit', 'binary'):
            # mailparser writes a header summary before the inline message's text
            self.text.append(('meta', None))
            self.walk(part.get_payload(0), body, alternative, False)
            return
        if disposition and disposition not in ('attachment', 'inline'):
            disposition = 'attachment'
        if not disposition:
            disposition = 'inline' if ctype in TEXT_TYPES else 'attachment'
        if ctype not in TEXT_TYPES or disposition != 'inline':
            data = part.get_payload(decode=True) if not part.is_multipart() else transfer_decode(part, body)
            self.attachments.append({
                'filename': unescape(part.get_filename() or ''),
                'size': len(data),
                'sha256': hashlib.sha256(data).hexdigest(),
            })
            return
        data = part.get_payload(decode=True) if not part.is_multipart() else transfer_decode(part, body)
        text = decode_text(data, part.get_content_charset()).replace('\r\n', '\n')
        if ctype == 'text/html':
            if text:
                self.text.append(('html', (alternative, root)))
            return
        if ctype == 'text/plain' and (part.get_param('format') or '').lower() == 'flowed':
            text = unflow(text, (part.get_param('delsp') or '').lower() == 'yes')
        self.has_text = True
        if text:  # mailparser adds no piece (and no "\n") for an empty part
            self.text.append(('plain', text))

    def text_pieces(self):
        pieces = []
        for kind, value in self.text:
            if kind == 'plain':
                pieces.append(value)
            elif kind == 'meta' and self.has_text:
                pieces.append(None)
            elif kind == 'html':
                alternative, root = value
                if (not alternative and self.has_text) or (root and not self.has_text):
                    pieces.append(None)
        return pieces


def unescape(value):
    """Python keeps 8-bit header bytes as surrogates; RFC 6532 says they are UTF-8."""
    return value.encode('utf-8', 'surrogateescape').decode('utf-8', 'replace')


def first_address(msg):
    header = msg['from']
    addresses = getattr(header, 'addresses', ()) if header is not None else ()
    # Python spells an empty angle-addr (`MAILER-DAEMON <>`) as "<>"; there is no address.
    spec = addresses[0].addr_spec if addresses else ''
    return '' if spec == '<>' else unescape(spec)


def read(path):
    raw = re.sub(rb'\r\n|\r|\n', b'\r\n', path.read_bytes())
    if not raw.endswith(b'\r\n'):
        raw += b'\r\n'
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    reader = Reader()
    reader.walk(msg, raw, False, True)
    subject = msg['subject']
    return {
        'subject': unescape(str(subject)) if subject is not None else '',
        'from': first_address(msg),
        'attachments': reader.attachments,
        'text': reader.text_pieces(),
    }


def main():
    out = {}
    for path in sorted((HERE / 'public').glob('*.eml')):
        try:
            out[path.name] = read(path)
        except Exception as err:  # a file Python cannot read is recorded, and must be reviewed
            out[path.name] = {'error': f'{type(err).__name__}: {err}'}
            print(f'{path.name}: {out[path.name]["error"]}', file=sys.stderr)
    meta = {'python': sys.version.split()[0], 'files': len(out)}
    text = json.dumps({'generated_by': meta, 'messages': out}, indent=1, ensure_ascii=False, sort_keys=True)
    (HERE / 'oracle.json').write_text(text + '\n', encoding='utf-8')
    print(f'wrote {HERE / "oracle.json"}: {len(out)} messages')


if __name__ == '__main__':
    main()
