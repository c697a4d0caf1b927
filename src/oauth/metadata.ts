import { SCOPES } from '../auth/api-keys.js';
import type { Deps } from '../deps.js';
import { issuerOf } from './authorize.js';

const CLIENT_AUTH = ['client_secret_basic', 'client_secret_post', 'none'];

/** RFC 8414 §2: what a client library needs to run the flow without configuration. */
export function metadata(deps: Deps) {
  const issuer = issuerOf(deps);
  return {
    issuer,
    authorization_endpoint: `${issuer}/oauth/authorize`,
    token_endpoint: `${issuer}/oauth/token`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    scopes_supported: [...SCOPES],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: CLIENT_AUTH,
    revocation_endpoint_auth_methods_supported: CLIENT_AUTH,
    // RFC 9207: every authorization response carries iss.
    authorization_response_iss_parameter_supported: true,
    service_documentation: `${issuer}/api/openapi.json`,
  };
}
