import type { ParsedMessage } from './types.js';

/** A message with nothing in it (what a parse starts from); here so using it does not load mailparser. */
export function emptyParsed(): ParsedMessage {
  return {
    from: { address: '', name: '' },
    to: [],
    cc: [],
    replyTo: [],
    subject: '',
    date: 0,
    messageId: '',
    inReplyTo: '',
    references: [],
    headers: [],
    text: '',
    html: '',
    attachments: [],
  };
}
