import type { Readable } from 'node:stream';
import type { OrdinaryLimits } from './ordinary.js';
import type { ParseOutcome, PutAttachment } from './parse-message.js';

type ParseModule = typeof import('./parse-message.js');
let loading: Promise<ParseModule> | null = null;

/**
 * parseMessage(), with mailparser and its decoders (~10 MB of RSS) loaded by the first message
 * rather than at start: an idle MX on a 256 MB Machine has parsed nothing (issue #19). Every
 * message waits for the same load; a failed load rejects that message (451) and the next one
 * tries again.
 */
export function parseMessageLazily(raw: Readable, put: PutAttachment, ordinaryOnly?: OrdinaryLimits): Promise<ParseOutcome> {
  loading ??= import('./parse-message.js').catch((err: unknown) => {
    loading = null;
    throw err;
  });
  return loading.then((m) => m.parseMessage(raw, put, ordinaryOnly));
}
