import { Hono } from 'hono';
import { Readable } from 'node:stream';
import type { Deps } from '../deps.js';
import { HttpError } from '../errors.js';
import { BlobNotFoundError } from '../store/blob-store.js';
import { checkLink } from '../store/signed-links.js';

/**
 * A filename safe in a quoted header value: no quotes, controls, separators, bidi overrides or
 * lone surrogates (encodeURIComponent throws on those), at most 200 code points, so a cut never
 * splits a surrogate pair.
 */
export function safeFilename(name: string, fallback: string): string {
  const cleaned = Array.from(
    name
      .normalize('NFC')
      .replace(/[\p{Cc}\p{Cf}\p{Cs}"\\/:*?<>|]+/gu, '_')
      .replace(/^[.\s]+/, '')
      .trim(),
  )
    .slice(0, 200)
    .join('')
    .trim();
  return cleaned || fallback;
}

function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_');
  // RFC 8187 attr-char has no ' ( ) *, which encodeURIComponent leaves as they are.
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** The type and disposition of a download, the same whether we stream it or S3 serves it. */
function downloadHeaders(filename: string, contentType: string) {
  return {
    contentType: /^[\w.+-]+\/[\w.+-]+$/.test(contentType) ? contentType : 'application/octet-stream',
    contentDisposition: contentDisposition(filename),
  };
}

/** GET /att/:mid/:idx — signed links, no credential (DESIGN §4). */
export function attachmentRoutes(deps: Deps): Hono {
  const app = new Hono();
  app.get('/att/:mid/:idx', async (c) => {
    const { mid, idx } = c.req.param();
    const q = c.req.queries();
    // A duplicated parameter is a tampered link, whichever copy is right.
    if ((q.exp?.length ?? 0) > 1 || (q.sig?.length ?? 0) > 1) throw new HttpError(403, 'invalid link');
    const check = checkLink(deps.config.secret, mid, idx, q.exp?.[0], q.sig?.[0], deps.now());
    if (!check.ok) throw new HttpError(check.status, check.status === 410 ? 'link expired' : 'invalid link');
    const message = await deps.repos.messages.getById(mid);
    if (!message) throw new HttpError(410, 'message deleted');

    let key: string;
    let filename: string;
    let contentType: string;
    if (check.target === 'raw') {
      key = message.rawKey;
      filename = `${mid}.eml`;
      contentType = 'message/rfc822';
    } else {
      const att = await deps.repos.messages.attachment(mid, check.target);
      if (!att) throw new HttpError(403, 'invalid link');
      if (message.purgedAt !== null) throw new HttpError(410, 'attachment expired');
      key = att.blobKey;
      filename = safeFilename(att.filename, `attachment-${att.index}`);
      contentType = att.contentType;
    }

    const headers = downloadHeaders(filename, contentType);
    const presigned = await deps.blobs.presign(key, headers).catch((err) => {
      deps.log.error('presign failed', { err, key });
      throw new HttpError(502, 'storage unavailable');
    });
    if (presigned) {
      // The presigned URL is a bearer credential for 5 minutes: no cache keeps it, no Referer leaks it.
      c.header('Cache-Control', 'no-store');
      c.header('Referrer-Policy', 'no-referrer');
      return c.redirect(presigned, 302);
    }

    let body: Readable;
    try {
      body = await deps.blobs.get(key);
    } catch (err) {
      if (err instanceof BlobNotFoundError) throw new HttpError(410, 'attachment expired');
      deps.log.error('blob read failed', { err, key });
      throw new HttpError(502, 'storage unavailable');
    }
    // Served as a download in a sandbox: never rendered as our origin's HTML.
    c.header('Content-Type', headers.contentType);
    c.header('Content-Disposition', headers.contentDisposition);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Content-Security-Policy', "default-src 'none'; sandbox");
    c.header('Cache-Control', 'private, max-age=300');
    body.once('error', (err) => deps.log.error('blob stream failed', { err, key }));
    // A web stream that errors when the blob stream does, so the server resets the response:
    // ending it cleanly would hand the client a truncated file as if it were whole. Cancelling
    // (client gone) destroys the blob stream and frees its S3 connection.
    return c.body(Readable.toWeb(body) as ReadableStream<Uint8Array>);
  });
  return app;
}
