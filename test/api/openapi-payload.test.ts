import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApi, type TestApi } from '../helpers/api.js';

let api: TestApi;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let doc: any;
beforeAll(async () => {
  api = testApi();
  doc = (await api.call('GET', '/api/openapi.json')).body;
});
afterAll(() => api.deps.cleanup());

describe('OpenAPI: webhook payload, payload modes, blocks', () => {
  it('describes the email.received event with reply, spam and inline attachment content', () => {
    const data = doc.components.schemas.EmailReceivedEvent.properties.data.properties;
    expect(Object.keys(data.reply.properties).sort()).toEqual(['quoted', 'signature', 'text']);
    expect(data.spam).toBeDefined();
    expect(data.attachments.items.properties.content.type).toBe('string');
  });

  it('has the payload mode on routes and catch-all webhooks, the spam filter, and SenderBlock', () => {
    const s = doc.components.schemas;
    expect(s.Route.properties.payload.enum).toEqual(['json', 'json+attachments', 'raw']);
    expect(s.Webhook.properties.payload.enum).toEqual(['json', 'json+attachments', 'raw']);
    expect(s.Route.properties.filters.properties.spam).toBeDefined();
    expect(Object.keys(s.SenderBlock.properties).sort()).toEqual(['created_at', 'domain_id', 'id', 'pattern']);
  });
});
