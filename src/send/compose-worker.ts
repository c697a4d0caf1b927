import { parentPort } from 'node:worker_threads';
import { composeUnsigned } from './compose.js';
import type { ComposeReply, ComposeTask } from './compose-pool.js';
import { signMessageSync } from './dkim-sign.js';

/**
 * The composer thread (compose-pool.ts): nodemailer's MailComposer, the MIME walk and the DKIM
 * signature (body hash, canonical headers, and the RSA signature itself, synchronously: this
 * thread has nothing else to do meanwhile) of each message it is sent.
 */
parentPort!.on('message', (task: ComposeTask) => {
  const c = { ...task.c, attachments: task.c.attachments.map((a) => ({ ...a, content: Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength) })) };
  composeUnsigned(c, task.messageId, new Date(task.date))
    .then((unsigned) => {
      const signed = signMessageSync(unsigned, task.signer);
      // A Buffer this size is its own ArrayBuffer only when it is not a slice of the pool: copied then, moved either way.
      const raw = signed.byteOffset === 0 && signed.byteLength === signed.buffer.byteLength ? new Uint8Array(signed.buffer, 0, signed.byteLength) : new Uint8Array(signed);
      parentPort!.postMessage({ id: task.id, raw } satisfies ComposeReply, [raw.buffer as ArrayBuffer]);
    })
    .catch((err: unknown) => parentPort!.postMessage({ id: task.id, error: (err instanceof Error && err.message) || String(err) } satisfies ComposeReply));
});
