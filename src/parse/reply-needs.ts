/**
 * For each regular expression in email-reply-parser 2.3.7's lists (its dist/regex.js), strings
 * every match of it contains: literals of the expression that stand outside every `?`, `*`,
 * `{0,n}`, character class and alternation. An expression cannot match a text without them, so
 * reply-fragments.ts runs it only on a text holding them all. Most mail holds none of them, and
 * the expressions are what the library's time goes on (31 over the whole text, ~25 per line).
 * The rarest string comes first: a search costs a step at each occurrence of its first character.
 *
 * `anyCase` is for expressions with the i flag (not Unicode): there an ASCII letter matches only
 * itself in either case, so a match holds the string in either case. reply-fragments.ts looks
 * for it under the same i flag (a match of the expression holds a match of the string), not in a
 * lowercased copy of the text. `-` under i matches only `-`.
 *
 * The first column is the library's expression as text, the key its own object is looked up by;
 * it is never run here. An expression of a later version that is not in the table has no strings
 * and always runs: slower, never different. test/parse/reply-fragments.test.ts pins the lists.
 */
export interface Need {
  pieces: string[];
  anyCase: string[];
}

type Row = readonly [library: RegExp, pieces: string[], anyCase?: string[]];

/* eslint-disable no-useless-escape -- the library's expressions, character for character */
const QUOTE_HEADERS: Row[] = [
  [/^-*\s*(On\s.+\s.+\n?wrote:{0,1})\s{0,1}-*$/m, ['On', 'wrote']],
  [/^-*\s*(Le\s.+\s.+\n?écrit\s?:{0,1})\s{0,1}-*$/m, ['écrit', 'Le']],
  [/^-*\s*(El\s.+\s.+\n?escribió:{0,1})\s{0,1}-*$/m, ['El', 'escribió']],
  [/^-*\s*(Il\s.+\s.+\n?scritto:{0,1})\s{0,1}-*$/m, ['Il', 'scritto']],
  [/^-*\s*(Em\s.+\s.+\n?escreveu:{0,1})\s{0,1}-*$/m, ['Em', 'escreveu']],
  [/^\s*(Am\s.+\s)\n?\n?schrieb.+\s?(\[|<).+(\]|>):$/m, [':', 'Am', 'schrieb']],
  [/^\s*(Op\s[\s\S]+?\n?schreef[\s\S]+:)$/m, [':', 'Op', 'schreef']],
  // "pisze" or "napisał": both hold "pis".
  [/^\s*((W\sdniu|Dnia)\s[\s\S]+?(pisze|napisał(\(a\))?):)$/mu, [':', 'pis']],
  [/^\s*(Den\s.+\s\n?skrev\s.+:)$/m, [':', 'Den', 'skrev']],
  [/^\s*(pe\s.+\s.+\n?kirjoitti:)$/m, [':', 'kirjoitti:']],
  [/^\s*(Am\s.+\sum\s.+\s\n?schrieb\s.+:)$/m, [':', 'Am', 'schrieb']],
  // Before "г" stands U+202F (narrow no-break space), in the expression and here.
  // eslint-disable-next-line no-irregular-whitespace -- the library's expression, as it is
  [/^\s*(ср\,\s.+\n? г\. в\s.+,\s.+[\[|<].+[\]|>]:)$/m, ['ср,', '\u202fг. в']],
  [/^(在[\s\S]+写道：)$/m, ['写道：']],
  [/^(20[0-9]{2}\..+\s작성:)$/m, ['작성:']],
  [/^(20[0-9]{2}\/.+のメッセージ:)$/m, ['のメッセージ:']],
  [/^(.+\s<.+>\sschrieb:)$/m, ['<', 'schrieb:']],
  [/^(.+\son.*at.*wrote:)$/m, [':', 'wrote:']],
  [/^\s*(From\s?:.+\s?\n?\s*[\[|<].+[\]|>])/m, [':', 'From']],
  [/^\s*(Von\s?:.+\s?\n?\s*[\[|<].+[\]|>])/m, [':', 'Von']],
  [/^\s*(De\s?:.+\s?\n?\s*(\[|<).+(\]|>))/m, [':', 'De']],
  [/^\s*(Van\s?:.+\s?\n?\s*(\[|<).+(\]|>))/m, [':', 'Van']],
  [/^\s*(Da\s?:.+\s?\n?\s*(\[|<).+(\]|>))/m, [':', 'Da']],
  [/^(20[0-9]{2})-([0-9]{2}).([0-9]{2}).([0-9]{2}):([0-9]{2})\n?(.*)>:$/m, ['>:']],
  [/^\s*([a-z]{3,4}\.\s[\s\S]+\sskrev\s[\s\S]+:)$/m, [':', 'skrev']],
  [/^([0-9]{2}).([0-9]{2}).(20[0-9]{2})(.*)(([0-9]{2}).([0-9]{2}))(.*)\"( *)<(.*)>( *):$/m, ['<', '"']],
  [/^[0-9]{2}:[0-9]{2}(.*)[0-9]{4}(.*)\"( *)<(.*)>( *):$/, ['<', '"']],
  [/^(.*)[0-9]{4}(.*)from(.*)<(.*)>:$/, ['>:', 'from']],
  [/^-{1,12} ?(O|o)riginal (M|m)essage ?-{1,12}$/i, ['-'], ['original message']],
  [/^-{1,12} ?(O|o)prindelig (B|b)esked ?-{1,12}$/i, ['-'], ['oprindelig besked']],
  [/^-{1,12} ?(M|m)essage d\'origine ?-{1,12}$/i, ['-'], ["message d'origine"]],
  // The ASCII part after "ü".
  [/^-{1,12} ?(U|u)rsprüngliche (N|n)achricht ?-{0,12}$/i, ['-'], ['ngliche nachricht']],
];

const SIGNATURES: Row[] = [
  [/^\s*-{2,4}$/, ['--']],
  [/^\s*_{2,4}$/, ['__']],
  [/^-- $/, ['-- ']],
  [/^\+{2,4}$/, ['++']],
  [/^\={2,4}$/, ['==']],
  [/^________________________________$/, ['__']],
  [/^Sent from (?:\s*.+)$/, ['Sent from ']],
  [/^Get Outlook for (?:\s*.+).*/m, ['Get Outlook for ']],
  [/^Cheers,?!?$/im, [], ['cheers']],
  [/^Best wishes,?!?$/im, [], ['best wishes']],
  [/^\w{0,20}\s?(\sand\s)?Regards,?!?！?$/im, [], ['regards']],
  [/^Von (?:\s*.+) gesendet$/, ['Von ', ' gesendet']],
  [/^Gesendet von (?:\s*.+) für (?:\s*.+)$/, ['Gesendet von ']],
  [/^Sendt fra (?:\s*.+)$/, ['Sendt fra ']],
  [/^Envoyé depuis (?:\s*.+)$/, ['Envoyé depuis ']],
  [/^Envoyé de mon (?:\s*.+)$/, ['Envoyé de mon ']],
  [/^Envoyé à partir de (?:\s*.+)$/, ['Envoyé à partir de ']],
  [/^Télécharger Outlook pour (?:\s*.+).*/m, ['Télécharger Outlook pour ']],
  [/^Bien . vous,?!?$/im, [], ['bien ', ' vous']],
  [/^\w{0,20}\s?cordialement,?!?$/im, [], ['cordialement']],
  [/^Bonne (journ.e|soir.e)!?$/im, [], ['bonne ']],
  [/^Enviado desde (?:\s*.+)$/, ['Enviado desde ']],
  [/^-*\s*(In\sdata\s.+\s.+\n?scritto:{0,1})\s{0,1}-*$/m, ['In', 'scritto']],
  [/^Verzonden vanaf (?:\s*.+)$/, ['Verzonden vanaf ']],
  [/^Verstuurd vanaf (?:\s*.+)$/, ['Verstuurd vanaf ']],
];
/* eslint-enable no-useless-escape */

const byText = (rows: Row[]) =>
  new Map<string, Need>(rows.map(([library, pieces, anyCase = []]) => [String(library), { pieces, anyCase }]));
export const QUOTE_HEADER_NEEDS = byText(QUOTE_HEADERS);
export const SIGNATURE_NEEDS = byText(SIGNATURES);
