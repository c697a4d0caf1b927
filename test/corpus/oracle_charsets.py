"""Charset labels for test/corpus/oracle.py, mapped as browsers map them (WHATWG Encoding Standard)."""
import codecs
import encodings.aliases
import re

# WHATWG Encoding Standard labels whose Python codec differs from the label's own name, or
# which Python does not know at all (windows-874, iso-8859-8-i, ks_c_5601-1987).
WHATWG = {
    'us-ascii': 'cp1252', 'ascii': 'cp1252', 'ansi_x3.4-1968': 'cp1252', 'iso-8859-1': 'cp1252',
    'iso8859-1': 'cp1252', 'iso_8859-1': 'cp1252', 'latin1': 'cp1252', 'l1': 'cp1252',
    'cp819': 'cp1252', 'ibm819': 'cp1252', 'windows-1252': 'cp1252', 'x-cp1252': 'cp1252',
    'iso-8859-9': 'cp1254', 'latin5': 'cp1254', 'iso-8859-11': 'cp874', 'tis-620': 'cp874',
    'windows-874': 'cp874', 'iso-8859-8-i': 'iso8859_8', 'csiso88598i': 'iso8859_8',
    'shift_jis': 'cp932', 'shift-jis': 'cp932', 'sjis': 'cp932', 'x-sjis': 'cp932',
    'ms_kanji': 'cp932', 'windows-31j': 'cp932', 'csshiftjis': 'cp932',
    'euc-kr': 'cp949', 'ks_c_5601-1987': 'cp949', 'korean': 'cp949', 'windows-949': 'cp949',
    'gb2312': 'gbk', 'gb_2312-80': 'gbk', 'chinese': 'gbk', 'x-gbk': 'gbk', 'csgb2312': 'gbk',
    'big5': 'big5hkscs', 'x-x-big5': 'big5hkscs', 'cn-big5': 'big5hkscs',
    'x-mac-cyrillic': 'mac_cyrillic', 'x-mac-ukrainian': 'mac_cyrillic',
}
# The email package decodes encoded words through the codec registry: teach it the same labels.
# (ascii and latin-1 have fast paths in CPython that no alias reaches; headers keep them strict.)
for _label, _codec in WHATWG.items():
    encodings.aliases.aliases[re.sub(r'[^a-z0-9.]+', '_', _label)] = _codec


def c1_passthrough(err):
    """windows-1252 bytes Python leaves undefined (0x81, 0x8D, ...) are C1 controls in WHATWG."""
    return ''.join(chr(b) for b in err.object[err.start:err.end]), err.end


codecs.register_error('whatwg-c1', c1_passthrough)


def decode_text(data, label):
    label = (label or 'utf-8').strip().strip('"').lower()
    name = WHATWG.get(label)
    if name is None and label.isdigit():
        name = 'cp' + label
    try:
        codec = codecs.lookup(name or label).name
    except LookupError:
        codec = 'utf-8'  # an unknown label: the bytes as UTF-8, as mailparser falls back to
    return data.decode(codec, 'whatwg-c1' if codec == 'cp1252' else 'replace')
