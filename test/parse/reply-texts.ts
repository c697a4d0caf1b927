/**
 * Texts for holding src/parse/reply-fragments.ts to email-reply-parser (reply-fragments.test.ts)
 * and for timing both (bench/reply-split.ts).
 */

/** One line each of email-reply-parser 2.3.7's quote-header expressions matches, in its order. */
export const HEADER_EXAMPLES = [
  'On Mon, Nov 24, 2025 at 10:15 AM Ada <a@b.c> wrote:',
  'Le lun. 24 nov. 2025 à 10:15, Ada <a@b.c> a écrit :',
  'El lun, 24 nov 2025 a las 10:15, Ada (<a@b.c>) escribió:',
  'Il giorno lun 24 nov 2025 alle ore 10:15 Ada <a@b.c> ha scritto:',
  'Em seg., 24 de nov. de 2025 às 10:15, Ada <a@b.c> escreveu:',
  'Am 24.11.2025 schrieb Ada <a@b.c>:',
  'Op 24 nov. 2025 om 10:15 schreef Ada <a@b.c>:',
  'W dniu 24.11.2025 o 10:15, Ada <a@b.c> pisze:',
  'Den 24. nov. 2025 kl. 10:15 skrev Ada <a@b.c>:',
  'pe 24.11.2025 klo 10.15 Ada (a@b.c) kirjoitti:',
  'Am 24.11.2025 um 10:15 schrieb Ada <a@b.c>:',
  'ср, 24 нояб. 2025\u202fг. в 10:15, Ada <a@b.c>:', // U+202F before г, as the expression has it
  '在 2025年11月24日 10:15, Ada <a@b.c> 写道：',
  '2025. 11. 24. 오전 10:15, Ada <a@b.c> 작성:',
  '2025/11/24 10:15、Ada <a@b.c>のメッセージ:',
  'Ada <a@b.c> schrieb:',
  'Ada on Monday at 10:15 wrote:',
  'From: Ada <a@b.c>',
  'Von: Ada <a@b.c>',
  'De : Ada [mailto:a@b.c]',
  'Van: Ada <a@b.c>',
  'Da: Ada <a@b.c>',
  '2025-11-24 10:15 GMT+01:00 Ada <a@b.c>:',
  'man. 24. nov. 2025 skrev Ada <a@b.c>:',
  '24.11.2025 10:15 "Ada" <a@b.c>:',
  '10:15, 24 Nov 2025, "Ada" <a@b.c>:',
  'Mon, 24 Nov 2025 from Ada <a@b.c>:',
  '-----Original Message-----',
  '----- Oprindelig besked -----',
  "-------- Message d'origine --------",
  '-----Ursprüngliche Nachricht-----',
];

/** One line each of its signature expressions matches, in its order. */
export const SIGNATURE_EXAMPLES = [
  '--',
  '__',
  '-- ',
  '++',
  '==',
  '_'.repeat(32),
  'Sent from my iPhone',
  'Get Outlook for iOS',
  'Cheers,',
  'Best wishes',
  'Kind regards',
  'Von meinem iPhone gesendet',
  'Gesendet von Mail für Windows',
  'Sendt fra min iPhone',
  'Envoyé depuis mon iPhone',
  'Envoyé de mon iPad',
  'Envoyé à partir de Outlook',
  'Télécharger Outlook pour iOS',
  'Bien à vous',
  'Bien cordialement',
  'Bonne journée',
  'Enviado desde mi iPhone',
  'In data 24 novembre 2025 Ada ha scritto:',
  'Verzonden vanaf mijn iPhone',
  'Verstuurd vanaf mijn iPad',
];

// Words that come near the expressions: their literals, case changed, cut short, "$" patterns
// (the library passes a header's text to String.replace), characters outside the BMP, lone
// surrogates, line and paragraph separators, the spaces \s and trimEnd() know.
const WORDS = [
  'the', 'mail', 'queue', 'keeps', 'moving', 'on', 'On', 'at', 'wrote', 'wrote:', 'WROTE:', 'From', 'From:', 'from', 'De', 'De:', 'Da :',
  'Von:', 'Van', 'Am', 'um', 'Op', 'Il', 'El', 'Le', 'Em', 'Den', 'pe', 'W', 'dniu', 'Dnia', 'pisze:', 'napisał(a):', 'schrieb', 'schrieb:',
  'schreef', 'skrev', 'kirjoitti:', 'escribió:', 'scritto:', 'escreveu:', 'écrit', 'a', 'Regards', 'regards,', 'cheers', 'vous', 'Bien',
  'Bonne', 'journée', 'Sent', 'Sent from', 'Outlook', '<a@b.c>', '<a@b.c>:', '[mailto:x@y.z]', '2025', '2025-11-24', '10:15', '24.11.2025',
  '"Ada"', '>', '>:', '--', '__', '==', '++', '-', ':', '$&', '$1', '$`', "$'", '$$', 'ср,', 'г.', 'в', '在', '写道：', '작성:', 'のメッセージ:',
  'Original', 'Message', 'message', "d'origine", 'Ursprüngliche', 'Nachricht', 'ORIGINAL', '😀', '𝔘𝔫𝔦', 'é', 'ü', 'ł', '\ud83d', '\udc00',
  '\u00a0', '\u3000', '\t', '\ufeff', '\u2028', '\r', '\v', '\f', '\u0130', '\u212a', '\u017f',
];
const TRAILING = ['', '', '', ' ', '  ', '\t', '\u00a0', ' \u3000', '\r'];

/** A deterministic source of numbers in [0, 1) (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` texts of up to ~40 lines, the same for the same seed. */
export function generatedTexts(count: number, seed: number): string[] {
  const r = random(seed);
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)]!;
  const prose = () => Array.from({ length: 1 + int(12) }, () => pick(WORDS)).join(pick([' ', ' ', ' ', '', ', ']));
  // What the expressions leave optional, left out or changed: a colon, a dash, a space, case.
  const variants: ((h: string) => string)[] = [
    (h) => h,
    (h) => h,
    (h) => h.replace(/ ?:$/, ''),
    (h) => h.replace(/-+ ?/, '- ').replace(/ ?-+$/, ' -'),
    (h) => h.replace(/^-+|-+$/g, '-'),
    (h) => h.toUpperCase(),
    (h) => h.toLowerCase(),
    (h) => h.replace(/ /g, '  '),
  ];
  const header = () => {
    const h = pick(variants)(pick(HEADER_EXAMPLES));
    const cut = h.indexOf(' ', int(h.length));
    // Wrapped onto two lines at a space, as long attributions are.
    return r() < 0.3 && cut > 0 ? `${h.slice(0, cut)}\n${h.slice(cut + 1)}` : h;
  };
  const line = (): string => {
    const x = r();
    if (x < 0.3) return prose();
    if (x < 0.5) return pick(['>', '> ', '>>', '> >', ' > ', '']) + prose();
    if (x < 0.62) return pick(['', '', '', ' ', '\t', '  \t ']);
    if (x < 0.72) return pick(['', ' ', '  ']) + pick(variants)(pick(SIGNATURE_EXAMPLES));
    if (x < 0.84) return (r() < 0.2 ? '> ' : '') + header();
    if (x < 0.88) return pick(['-', '_', '=', '+']).repeat(1 + int(36));
    if (x < 0.92) return prose().repeat(1 + int(40)).slice(0, 1500);
    return pick(WORDS);
  };
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    const lines = Array.from({ length: int(40) }, () => line() + pick(TRAILING));
    const eol = pick(['\n', '\n', '\r\n', 'mixed']);
    let text = lines.map((l, j) => l + (j === lines.length - 1 ? '' : eol === 'mixed' ? pick(['\n', '\r\n']) : eol)).join('');
    if (r() < 0.3) text = '\n'.repeat(1 + int(3)) + text;
    if (r() < 0.3) text += '\n'.repeat(1 + int(4));
    texts.push(text);
  }
  return texts;
}
