import type { FC } from 'hono/jsx';
import type { FieldErrors } from '../form.js';
import { Alert, Field, FieldError, PostForm } from './components.js';

export interface ReplyValues {
  from: string;
  to: string;
  subject: string;
  text: string;
}

/** The Reply form of a message page: POST /messages/:id/reply sends through POST /v1/send. */
export const ReplyForm: FC<{ messageId: string; csrf: string; values: ReplyValues; errors: FieldErrors }> = ({ messageId, csrf, values, errors }) => (
  <section class="card" aria-labelledby="reply" id="reply-form">
    <h2 id="reply">Reply</h2>
    <Alert error={errors.general} />
    <PostForm action={`/messages/${messageId}/reply`} csrf={csrf}>
      <Field name="from" label="From" value={values.from} error={errors.fields.from} required hint="An address at one of your domains verified for sending" />
      <Field name="to" label="To" value={values.to} error={errors.fields.to} required />
      <Field name="subject" label="Subject" value={values.subject} error={errors.fields.subject} />
      <div class="field">
        <label for="f-text">Message</label>
        <textarea id="f-text" name="text" rows={8} required aria-invalid={errors.fields.text ? 'true' : undefined}>{values.text}</textarea>
        <FieldError id="f-text-error" error={errors.fields.text} />
      </div>
      <button type="submit">Send reply</button>
    </PostForm>
  </section>
);
