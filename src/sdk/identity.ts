import { LedgerApi, type Page } from './ledger.js';
import type {
  ApiKeyCreated,
  ManifestVerified,
  OAuthTokenResponse,
  PrincipalCreated,
  PrincipalWire,
  TokenCreated,
  TokenWire,
  UcanRevocation,
} from './types.js';

/**
 * Principals, API keys, UCAN delegation, OAuth2 and signed manifests. Calls that mint secrets are
 * not retried after a lost reply: the gateway does not replay them, and a second secret is worse
 * than an error.
 */
export class IdentityApi extends LedgerApi {
  /** Operator only: a requester or provider principal and its first API key (shown once). */
  createPrincipal(body: {
    role: 'requester' | 'provider';
    name: string;
    did?: string;
  }): Promise<PrincipalCreated> {
    return this.create('/principals', body, {}, false);
  }
  principals(q?: Page): Promise<{ principals: PrincipalWire[]; next_cursor: string | null }> {
    return this.get('/principals', { ...q });
  }
  principal(id: string): Promise<PrincipalWire> {
    return this.get(`/principals/${encodeURIComponent(id)}`);
  }
  /** Operator only: every token of the principal stops working. */
  disablePrincipal(id: string): Promise<PrincipalWire> {
    return this.request('POST', `/principals/${encodeURIComponent(id)}/disable`);
  }
  /** Operator only: another API key for a principal (shown once). */
  createKey(id: string, body: { label?: string; expires_in?: string | number } = {}): Promise<ApiKeyCreated> {
    return this.create(`/principals/${encodeURIComponent(id)}/keys`, body, {}, false);
  }

  /**
   * Mints a UCAN delegating `can` with caveats (`max_spend_usd`, `max_price_per_hour`,
   * `providers`, `provider_types`, `resource_types`), `expires_in` such as "1d"; or, with
   * `{kind: "api_key"}`, a new API key for yourself.
   */
  createToken(body: Record<string, unknown>): Promise<TokenCreated> {
    return this.create('/tokens', body, {}, false);
  }
  tokens(q?: Page & { principal?: string }): Promise<{ tokens: TokenWire[]; next_cursor: string | null }> {
    return this.get('/tokens', { ...q });
  }
  revokeToken(id: string): Promise<TokenWire> {
    return this.request('DELETE', `/tokens/${encodeURIComponent(id)}`);
  }
  /**
   * POST /ucan/revocations: `{revoke: cid}` as the UCAN's principal (or the operator), or a signed
   * record `{iss, revoke, challenge, ucan?}` from its issuer. Every UCAN below it stops working.
   */
  revokeUcan(body: {
    revoke: string;
    iss?: string;
    challenge?: string;
    ucan?: string;
  }): Promise<UcanRevocation> {
    return this.request('POST', '/ucan/revocations', undefined, body);
  }

  /**
   * OAuth2 client credentials (RFC 6749 §4.4): an access token (JWT) for an API key. `clientId` is
   * the key's id (tok_…) or its principal's; `scope` narrows the abilities. Sent form-encoded.
   */
  async oauthToken(clientId: string, clientSecret: string, scope?: string[]): Promise<OAuthTokenResponse> {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId });
    form.set('client_secret', clientSecret);
    if (scope?.length) form.set('scope', scope.join(' '));
    const res = await this.send('POST', '/oauth/token', undefined, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      retrySafe: true,
      anonymous: true,
    });
    return (await res.json()) as OAuthTokenResponse;
  }
  /** The public keys that verify this gateway's access tokens. */
  jwks(): Promise<{ keys: Record<string, unknown>[] }> {
    return this.get('/.well-known/jwks.json');
  }
  /** Checks a signed workload manifest (compact JWS); a tampered one is a 422 InvalidRequestError. */
  verifyManifest(manifest: string): Promise<ManifestVerified> {
    return this.request('POST', '/manifests/verify', undefined, { manifest });
  }
}
