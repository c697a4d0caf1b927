import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApi, type TestApi } from '../helpers/api.js';
import { ENDPOINTS } from './endpoints.js';

let api: TestApi;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let doc: any;
beforeAll(async () => {
  api = testApi();
  const res = await api.call('GET', '/api/openapi.json');
  expect(res.status).toBe(200);
  doc = res.body;
});
afterAll(() => api.deps.cleanup());

const PUBLIC: [string, string][] = [
  ['GET', '/api/health'],
  ['POST', '/api/auth/signup'],
  ['POST', '/api/auth/login'],
  ['POST', '/api/auth/google'],
  ['GET', '/att/{mid}/{idx}'],
];

describe('GET /api/openapi.json', () => {
  it('is an OpenAPI 3 document without a credential', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components.securitySchemes.Bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it.each([...PUBLIC, ...ENDPOINTS.map(([m, p]) => [m, p] as [string, string])])('describes %s %s', (method, path) => {
    expect(doc.paths[path]?.[method.toLowerCase()], `${method} ${path}`).toBeDefined();
  });

  it('describes every route the app serves, and nothing it does not', () => {
    const served = new Set(
      api.app.routes
        .filter((r) => r.method !== 'ALL' && (r.path.startsWith('/api/') || r.path.startsWith('/att/') || r.path.startsWith('/v1/')) && r.path !== '/api/openapi.json')
        .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`),
    );
    const documented = new Set(
      Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)),
    );
    expect([...documented].sort()).toEqual([...served].sort());
  });

  it('is generated from the validation schemas', () => {
    const create = doc.paths['/api/routes'].post;
    const schema = create.requestBody.content['application/json'].schema;
    const props = schema.properties ?? doc.components.schemas[schema.$ref?.split('/').pop()]?.properties;
    expect(props.action.enum).toEqual(['webhook', 'store', 'drop', 'reject', 'forward']);
    expect(props.priority).toMatchObject({ type: 'integer', minimum: 0, maximum: 10000 });
    expect(create.responses['201'].content['application/json'].schema.$ref).toBe('#/components/schemas/Route');
    // The dry run reads its own body (off the event loop) but is documented from the same schema.
    const dryRun = doc.paths['/api/routes/test'].post;
    expect(Object.keys(dryRun.requestBody.content['application/json'].schema.properties).sort()).toEqual(['domain_id', 'message_id', 'raw', 'recipient']);
    expect(Object.keys(dryRun.responses).sort()).toEqual(['200', '400', '401', '403', '404', '413', '429']);
    expect(dryRun.security).toEqual([{ Bearer: [] }]);
    expect(doc.paths['/api/messages'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['limit', 'before', 'domain_id', 'recipient', 'from', 'since', 'until']),
    );
  });
});
