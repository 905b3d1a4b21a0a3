/** RFC 6749 token requests (client credentials): parsing and validating what a client sends. */

/** One scope token (RFC 6749 §3.3). */
export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export type TokenRequest =
  | {
      ok: true;
      grant_type: 'client_credentials';
      client_id: string;
      client_secret: string;
      scope: string[] | null;
    }
  | {
      ok: false;
      status: 400 | 401;
      error: 'invalid_request' | 'unsupported_grant_type' | 'invalid_client' | 'invalid_scope';
      error_description: string;
    };

/** application/x-www-form-urlencoded decoding of one value; null when the %-escapes are bad. */
function formDecode(s: string): string | null {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `client_id:client_secret` from HTTP Basic, each part form-urlencoded first (RFC 6749 §2.3.1). */
function parseBasic(authorization: string): { id: string; secret: string } | null {
  const m = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(authorization);
  if (!m?.[1]) return null;
  let decoded: string;
  try {
    decoded = utf8.decode(Buffer.from(m[1], 'base64'));
  } catch {
    return null;
  }
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  const id = formDecode(decoded.slice(0, colon));
  const secret = formDecode(decoded.slice(colon + 1));
  return id && secret ? { id, secret } : null;
}

const PARAMS = ['grant_type', 'client_id', 'client_secret', 'scope'] as const;

/**
 * Reads a token request (RFC 6749 §4.4, client authentication §2.3.1). `body` is the parsed form
 * (or JSON) object. Errors are values shaped for the §5.2 response; a 401 should carry
 * `WWW-Authenticate: Basic`. Only syntax is checked here: the caller verifies the secret and
 * whether the client may have the scope.
 */
export function parseTokenRequest(body: unknown, authorization: string | undefined): TokenRequest {
  const reject = (
    status: 400 | 401,
    error: Extract<TokenRequest, { ok: false }>['error'],
    error_description: string,
  ): TokenRequest => ({ ok: false, status, error, error_description });
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return reject(400, 'invalid_request', 'the body must be application/x-www-form-urlencoded parameters');
  }
  const p: Partial<Record<(typeof PARAMS)[number], string>> = {};
  for (const name of PARAMS) {
    const v: unknown = Object.hasOwn(body, name) ? (body as Record<string, unknown>)[name] : undefined;
    if (Array.isArray(v)) return reject(400, 'invalid_request', `parameter ${name} must not be repeated`);
    if (v !== undefined && typeof v !== 'string') {
      return reject(400, 'invalid_request', `parameter ${name} must be a string`);
    }
    // §3.1: a parameter sent without a value is treated as omitted.
    if (v) p[name] = v;
  }
  if (p.grant_type === undefined) return reject(400, 'invalid_request', 'grant_type is required');
  if (p.grant_type !== 'client_credentials') {
    return reject(400, 'unsupported_grant_type', 'only grant_type=client_credentials is supported');
  }

  let client_id: string;
  let client_secret: string;
  if (authorization) {
    const basic = parseBasic(authorization);
    if (basic === null) {
      return reject(401, 'invalid_client', 'Authorization must be Basic base64(client_id:client_secret)');
    }
    // §2.3.1: one authentication method per request. A body client_id that names the same client
    // is identification (§3.2.1), not a second method.
    if (p.client_secret !== undefined || (p.client_id !== undefined && p.client_id !== basic.id)) {
      return reject(400, 'invalid_request', 'send client credentials in Basic or in the body, not both');
    }
    ({ id: client_id, secret: client_secret } = basic);
  } else if (p.client_id !== undefined && p.client_secret !== undefined) {
    ({ client_id, client_secret } = p as { client_id: string; client_secret: string });
  } else {
    return reject(
      401,
      'invalid_client',
      'client authentication is required: HTTP Basic, or client_id and client_secret in the body',
    );
  }

  let scope: string[] | null = null;
  if (p.scope !== undefined) {
    const tokens = p.scope.split(' ').filter((s) => s !== '');
    const bad = tokens.find((s) => !SCOPE_TOKEN.test(s));
    if (bad !== undefined) return reject(400, 'invalid_scope', `bad scope token ${JSON.stringify(bad)}`);
    if (tokens.length === 0) return reject(400, 'invalid_scope', 'scope has no tokens');
    scope = [...new Set(tokens)];
  }
  return { ok: true, grant_type: 'client_credentials', client_id, client_secret, scope };
}
