/**
 * Replies written the way each client quotes, with the new text, signature and a piece of the
 * quote checked by hand. Shared by test/parse/reply.test.ts and bench/reply-libraries.ts (the
 * measurement that chose the library). Layouts follow each client's documented format:
 * Gmail's "On <date> <name> <addr> wrote:" attribution (localised, wrapped when long), Outlook's
 * "From:/Sent:/To:/Subject:" block under a rule (desktop "-----Original Message-----", web
 * "________________________________"), Apple Mail's quoted attribution and "Sent from my
 * iPhone", Thunderbird's bottom-posting with a "-- " signature.
 */
export interface ReplyCase {
  name: string;
  /** text/plain body; absent for HTML-only mail (then `html` is set). */
  text?: string;
  html?: string;
  expect: { text: string; signature: string };
  /** A piece of the earlier message that must be in `quoted` ('' = nothing is quoted). */
  quotedHas: string;
}

const L = (...lines: string[]) => lines.join('\n');

export const REPLY_CASES: ReplyCase[] = [
  {
    name: 'Gmail, English, top-posted',
    text: L(
      'Thanks, I will check the invoice tomorrow.',
      '',
      'On Mon, Nov 24, 2025 at 10:15 AM Ada Lovelace <ada@example.com> wrote:',
      '',
      '> Can you look at invoice 2041 before Friday?',
      '>',
      '> Ada',
      '',
    ),
    expect: { text: 'Thanks, I will check the invoice tomorrow.', signature: '' },
    quotedHas: 'invoice 2041',
  },
  {
    name: 'Gmail, English, attribution wrapped onto two lines, "-- " signature',
    text: L(
      'Shipped it this morning.',
      '',
      '-- ',
      'Bob Stone',
      'Acme Support',
      '',
      'On Mon, Nov 24, 2025 at 10:15 AM Ada Lovelace-Byron <',
      'ada.lovelace@analytical-engines.example.com> wrote:',
      '',
      '> When does order 88 ship?',
    ),
    expect: { text: 'Shipped it this morning.', signature: 'Bob Stone\nAcme Support' },
    quotedHas: 'order 88',
  },
  {
    name: 'Gmail, French',
    text: L(
      'Merci, je regarde ça demain.',
      '',
      'Le lun. 24 nov. 2025 à 10:15, Ada Lovelace <ada@example.com> a écrit :',
      '',
      '> Peux-tu vérifier la facture ?',
    ),
    expect: { text: 'Merci, je regarde ça demain.', signature: '' },
    quotedHas: 'vérifier la facture',
  },
  {
    name: 'Gmail, German',
    text: L(
      'Passt, ich bin um drei da.',
      '',
      'Am Mo., 24. Nov. 2025 um 10:15 Uhr schrieb Ada Lovelace <ada@example.com>:',
      '',
      '> Treffen wir uns um 15 Uhr?',
    ),
    expect: { text: 'Passt, ich bin um drei da.', signature: '' },
    quotedHas: 'Treffen wir uns',
  },
  {
    name: 'Gmail, Spanish',
    text: L(
      'Sí, mañana te lo envío.',
      '',
      'El lun, 24 nov 2025 a las 10:15, Ada Lovelace (<ada@example.com>) escribió:',
      '',
      '> ¿Me mandas el contrato?',
    ),
    expect: { text: 'Sí, mañana te lo envío.', signature: '' },
    quotedHas: 'el contrato',
  },
  {
    name: 'Gmail, Dutch',
    text: L(
      'Ja, dat klopt.',
      '',
      'Op ma 24 nov 2025 om 10:15 schreef Ada Lovelace <ada@example.com>:',
      '',
      '> Klopt het bedrag op de factuur?',
    ),
    expect: { text: 'Ja, dat klopt.', signature: '' },
    quotedHas: 'het bedrag',
  },
  {
    name: 'Gmail, Italian',
    text: L(
      'Va bene, a domani.',
      '',
      'Il giorno lun 24 nov 2025 alle ore 10:15 Ada Lovelace <ada@example.com> ha scritto:',
      '',
      '> Ci vediamo domani?',
    ),
    expect: { text: 'Va bene, a domani.', signature: '' },
    quotedHas: 'Ci vediamo',
  },
  {
    name: 'Outlook desktop, English, "-----Original Message-----"',
    text: L(
      'Approved, go ahead.',
      '',
      'Bob',
      '',
      '-----Original Message-----',
      'From: Ada Lovelace [mailto:ada@example.com]',
      'Sent: Monday, November 24, 2025 10:15 AM',
      'To: Bob Stone <bob@example.org>',
      'Subject: Budget',
      '',
      'Can I order the new servers?',
    ),
    expect: { text: 'Approved, go ahead.\n\nBob', signature: '' },
    quotedHas: 'new servers',
  },
  {
    name: 'Outlook desktop/web, English, rule + From/Sent block',
    text: L(
      'See you at 3.',
      '',
      '________________________________',
      'From: Ada Lovelace <ada@example.com>',
      'Sent: Monday, November 24, 2025 10:15 AM',
      'To: Bob Stone <bob@example.org>',
      'Subject: Meeting',
      '',
      'Does 3 pm work?',
    ),
    expect: { text: 'See you at 3.', signature: '' },
    quotedHas: 'Does 3 pm work?',
  },
  {
    name: 'Outlook web, German, Von/Gesendet block',
    text: L(
      'Erledigt.',
      '',
      '________________________________',
      'Von: Ada Lovelace <ada@example.com>',
      'Gesendet: Montag, 24. November 2025 10:15',
      'An: Bob Stone <bob@example.org>',
      'Betreff: Aufgabe',
      '',
      'Kannst du das Ticket schließen?',
    ),
    expect: { text: 'Erledigt.', signature: '' },
    quotedHas: 'Ticket schließen',
  },
  {
    name: 'Outlook, French, De/Envoyé block',
    text: L(
      "C'est noté, merci.",
      '',
      'De : Ada Lovelace <ada@example.com>',
      'Envoyé : lundi 24 novembre 2025 10:15',
      'À : Bob Stone <bob@example.org>',
      'Objet : Livraison',
      '',
      'La livraison arrive jeudi.',
    ),
    expect: { text: "C'est noté, merci.", signature: '' },
    quotedHas: 'arrive jeudi',
  },
  {
    name: 'Apple Mail on iPhone, quoted attribution, "Sent from my iPhone"',
    text: L(
      'Yes, that works.',
      '',
      'Sent from my iPhone',
      '',
      '> On 24 Nov 2025, at 10:15, Ada Lovelace <ada@example.com> wrote:',
      '> ',
      '> Can we move the call to Tuesday?',
    ),
    expect: { text: 'Yes, that works.', signature: 'Sent from my iPhone' },
    quotedHas: 'move the call',
  },
  {
    name: 'Apple Mail on macOS',
    text: L(
      'I will bring the slides.',
      '',
      '> On Nov 24, 2025, at 10:15 AM, Ada Lovelace <ada@example.com> wrote:',
      '> ',
      '> Who brings the slides?',
      '> ',
    ),
    expect: { text: 'I will bring the slides.', signature: '' },
    quotedHas: 'Who brings',
  },
  {
    name: 'Thunderbird, bottom-posted, "-- " signature',
    text: L(
      'On 24/11/2025 10:15, Ada Lovelace wrote:',
      '> Is the build green again?',
      '',
      'Yes, since the last commit.',
      '',
      '-- ',
      'Bob Stone',
    ),
    expect: { text: 'Yes, since the last commit.', signature: 'Bob Stone' },
    quotedHas: 'build green',
  },
  {
    name: 'Thunderbird, inline answers between quotes',
    text: L(
      'On 24.11.25 10:15, Ada Lovelace wrote:',
      '> Can you do Tuesday?',
      '',
      'Yes.',
      '',
      '> And bring the slides?',
      '',
      'Sure, I will bring them.',
    ),
    expect: { text: 'Yes.\n\nSure, I will bring them.', signature: '' },
    quotedHas: 'bring the slides?',
  },
  {
    name: 'not a reply: plain message',
    text: L('Hello team,', '', 'The new office opens on Monday.', 'Parking is free for the first week.', '', 'Ada'),
    expect: { text: 'Hello team,\n\nThe new office opens on Monday.\nParking is free for the first week.\n\nAda', signature: '' },
    quotedHas: '',
  },
  {
    name: 'not a reply: prose that mentions "wrote" and "From:"',
    text: L(
      'On Monday the board wrote a new plan.',
      'From: the sales team, the numbers look good.',
      'We will discuss it on Friday.',
    ),
    expect: {
      text: 'On Monday the board wrote a new plan.\nFrom: the sales team, the numbers look good.\nWe will discuss it on Friday.',
      signature: '',
    },
    quotedHas: '',
  },
  {
    name: 'HTML only: Gmail (gmail_quote + blockquote)',
    html:
      '<div dir="ltr">Thanks, that fixed it!</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">' +
      'On Mon, Nov 24, 2025 at 10:15 AM Ada Lovelace &lt;<a href="mailto:ada@example.com">ada@example.com</a>&gt; wrote:<br></div>' +
      '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">' +
      'Try clearing the cache.</blockquote></div>',
    expect: { text: 'Thanks, that fixed it!', signature: '' },
    quotedHas: 'clearing the cache',
  },
  {
    name: 'HTML only: Outlook web (divRplyFwdMsg)',
    html:
      '<div>Received, thank you.</div><div><br></div><hr style="display:inline-block;width:98%" tabindex="-1">' +
      '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt" color="#000000">' +
      '<b>From:</b> Ada Lovelace &lt;ada@example.com&gt;<br><b>Sent:</b> Monday, November 24, 2025 10:15 AM<br>' +
      '<b>To:</b> Bob Stone &lt;bob@example.org&gt;<br><b>Subject:</b> Report</font><div>&nbsp;</div></div>' +
      '<div>Here is the quarterly report.</div>',
    expect: { text: 'Received, thank you.', signature: '' },
    quotedHas: 'quarterly report',
  },
];
