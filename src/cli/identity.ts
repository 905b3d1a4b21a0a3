import { createKeyFile, loadKeyFile } from '../identity/gateway-key.js';
import { isKeyAlg } from '../identity/keys.js';
import { type Capabilities, type Caveats, issueUcan, parseUcan, ucanCid } from '../identity/ucan.js';
import type { ComputeMdClient } from '../sdk/client.js';
import { parseDuration } from '../util/duration.js';
import type { Io } from './commands.js';
import { table } from './table.js';

/** `computemd principal create|list` and `computemd token create|list|revoke` (issue 5). */

export interface PrincipalFlags {
  role?: string;
  name?: string;
  did?: string;
}

export async function cmdPrincipal(
  client: ComputeMdClient,
  sub: string | undefined,
  f: PrincipalFlags,
  json: boolean,
  io: Io,
): Promise<number> {
  if (sub === 'list') {
    const r = await client.principals({ limit: 500 });
    if (json) io.out(JSON.stringify(r, null, 2));
    else
      io.out(
        table(
          ['ID', 'ROLE', 'NAME', 'DID', 'DISABLED'],
          r.principals.map((p) => [p.id, p.role, p.name, p.did ?? '-', p.disabled_at ?? '-']),
        ),
      );
    return 0;
  }
  if (sub !== 'create') {
    io.err(
      'error: usage: computemd principal create --role requester|provider --name NAME [--did DID] | principal list',
    );
    return 2;
  }
  if (f.role !== 'requester' && f.role !== 'provider') {
    io.err(`error: --role: must be requester or provider (got ${JSON.stringify(f.role ?? null)})`);
    return 2;
  }
  if (!f.name) {
    io.err('error: --name: give the principal a name, e.g. --name research-agent');
    return 2;
  }
  const r = await client.createPrincipal({ role: f.role, name: f.name, ...(f.did ? { did: f.did } : {}) });
  if (json) {
    io.out(JSON.stringify(r, null, 2));
    return 0;
  }
  io.out(`created ${r.principal.role} ${r.principal.id} (${r.principal.name})`);
  io.out(`api key ${r.api_key.id}: ${r.api_key.key}`);
  io.out('The key is shown once; only its hash is kept. Give it to the agent as COMPUTEMD_TOKEN.');
  return 0;
}

export interface TokenFlags {
  can?: string[];
  'max-spend'?: string;
  'max-price'?: string;
  providers?: string;
  'provider-types'?: string;
  'resource-types'?: string;
  expires?: string;
  audience?: string;
  label?: string;
  principal?: string;
  'api-key'?: boolean;
  /** Sign here with this key file instead of asking the gateway (your own DID's key). */
  'sign-with'?: string;
  /** The UCAN delegated to your key that the new one narrows (with --sign-with). */
  proof?: string;
}

/** The POST /tokens body the flags describe, or a usage error naming the flag. */
export function tokenBody(f: TokenFlags): Record<string, unknown> | string {
  const body: Record<string, unknown> = {};
  if (f.expires !== undefined) {
    if (parseDuration(f.expires) === null)
      return `--expires: must be like 30s, 1h, 1d or 2w (got ${f.expires})`;
    body.expires_in = f.expires;
  }
  if (f.label !== undefined) body.label = f.label;
  if (f['api-key']) {
    if (f.can?.length)
      return "--can: an API key carries its principal's role; drop --can, or drop --api-key for a UCAN";
    return { kind: 'api_key', ...body };
  }
  if (!f.can || f.can.length === 0)
    return '--can: name at least one ability, e.g. --can compute/book (repeatable)';
  body.can = f.can;
  const money = (flag: string, v: string | undefined, key: string): string | null => {
    if (v === undefined) return null;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0)
      return `--${flag}: must be a number of USD ≥ 0 (got ${v})`;
    body[key] = n;
    return null;
  };
  const e1 = money('max-spend', f['max-spend'], 'max_spend_usd');
  if (e1) return e1;
  const e2 = money('max-price', f['max-price'], 'max_price_per_hour');
  if (e2) return e2;
  for (const [flag, key] of [
    ['providers', 'providers'],
    ['provider-types', 'provider_types'],
    ['resource-types', 'resource_types'],
  ] as const) {
    const v = f[flag];
    if (v === undefined) continue;
    const list = v.split(',').map((s) => s.trim());
    if (list.some((s) => s === ''))
      return `--${flag}: a comma-separated list with no empty entries (got ${v})`;
    body[key] = list;
  }
  if (f.audience !== undefined) body.audience = f.audience;
  return body;
}

export async function cmdToken(
  client: ComputeMdClient,
  sub: string | undefined,
  arg: string | undefined,
  f: TokenFlags,
  json: boolean,
  io: Io,
): Promise<number> {
  switch (sub) {
    case 'create': {
      const body = tokenBody(f);
      if (typeof body === 'string') {
        io.err(`error: ${body}`);
        return 2;
      }
      if (f['sign-with']) return signLocally(client, f, body, json, io);
      if (f.proof) {
        io.err(
          'error: --proof: only with --sign-with (the gateway signs children of the token you call it with)',
        );
        return 2;
      }
      const r = await client.createToken(body);
      const secret = r.token ?? r.key;
      if (json) {
        io.out(JSON.stringify({ token: secret, ...r }, null, 2));
        return 0;
      }
      io.out(secret ?? '');
      io.err(
        `${r.id}: ${r.token ? `UCAN ${r.cid} for ${r.audience}` : 'API key'}, expires ${r.expires_at ?? 'never'}. Shown once; revoke with \`computemd token revoke ${r.id}\`.`,
      );
      return 0;
    }
    case 'list': {
      const r = await client.tokens({ limit: 500, ...(f.principal ? { principal: f.principal } : {}) });
      if (json) io.out(JSON.stringify(r, null, 2));
      else
        io.out(
          table(
            ['ID', 'KIND', 'PRINCIPAL', 'LABEL', 'EXPIRES', 'REVOKED'],
            r.tokens.map((t) => [
              t.id,
              t.kind === 'api_key' ? `key ${t.prefix ?? ''}…` : 'ucan',
              t.principal,
              t.label || '-',
              t.expires_at ?? 'never',
              t.revoked_at ?? '-',
            ]),
          ),
        );
      return 0;
    }
    case 'revoke': {
      if (!arg) {
        io.err('error: usage: computemd token revoke TOKEN_ID (see `computemd token list`)');
        return 2;
      }
      const t = await client.revokeToken(arg);
      if (json) io.out(JSON.stringify(t, null, 2));
      else io.out(`revoked ${t.id} at ${t.revoked_at}`);
      return 0;
    }
    default:
      io.err('error: usage: computemd token create|list|revoke (see `computemd --help`)');
      return 2;
  }
}

/**
 * `token create --sign-with KEY [--proof UCAN]`: a UCAN signed here by your own key. Without
 * --proof it is a root for --principal (whose registered DID must be this key's); with --proof it
 * narrows a UCAN delegated to this key. The gateway checks the chain when the token is used; the
 * proofs it did not mint travel in the `ucans` header (COMPUTEMD_PROOFS for the CLI).
 */
async function signLocally(
  client: ComputeMdClient,
  f: TokenFlags,
  body: Record<string, unknown>,
  json: boolean,
  io: Io,
): Promise<number> {
  const usage = (m: string) => {
    io.err(`error: ${m}`);
    return 2;
  };
  if (body.kind === 'api_key') return usage('--api-key: API keys come from the gateway; drop --sign-with');
  let signer: ReturnType<typeof loadKeyFile>;
  try {
    signer = loadKeyFile(f['sign-with'] as string);
  } catch (err) {
    return usage(`--sign-with: ${(err as Error).message}`);
  }
  let resource: string;
  let parentExp: number | null = null;
  const proofs: string[] = [];
  if (f.proof) {
    let parent: ReturnType<typeof parseUcan>;
    try {
      parent = parseUcan(f.proof);
    } catch (err) {
      return usage(`--proof: ${(err as Error).message}`);
    }
    if (parent.payload.aud !== signer.did)
      return usage(`--proof: it is delegated to ${parent.payload.aud}, not to this key (${signer.did})`);
    resource = Object.keys(parent.payload.cap)[0] as string;
    parentExp = parent.payload.exp;
    proofs.push(f.proof);
  } else {
    if (!f.principal || !/^pr_[0-9a-z_]+$/.test(f.principal))
      return usage('--principal: a root token names the principal it acts for (pr_…), whose DID is this key');
    resource = `computemd:principal:${f.principal}`;
  }
  const caveats: Caveats = {};
  for (const k of [
    'max_spend_usd',
    'max_price_per_hour',
    'providers',
    'provider_types',
    'resource_types',
  ] as const)
    if (body[k] !== undefined) (caveats as Record<string, unknown>)[k] = body[k];
  const can = body.can as string[];
  const capabilities: Capabilities = {
    [resource]: Object.fromEntries(can.map((a) => [a, [caveats] as [Caveats]])),
  };
  const audience = f.audience ?? (await client.health()).did;
  if (!audience) return usage('--audience: the gateway did not report its DID; give --audience');
  const ttl = parseDuration(f.expires ?? '1d') as number;
  let exp = Math.floor(Date.now() / 1000) + ttl;
  if (parentExp !== null) exp = Math.min(exp, parentExp);
  const token = issueUcan({
    issuer: signer,
    audience,
    capabilities,
    expiresAt: exp,
    proofs: proofs.map(ucanCid),
  });
  if (json) {
    io.out(
      JSON.stringify(
        { token, cid: ucanCid(token), audience, expires_at: new Date(exp * 1000).toISOString(), proofs },
        null,
        2,
      ),
    );
    return 0;
  }
  io.out(token);
  io.err(
    proofs.length > 0
      ? 'Send its proof along: COMPUTEMD_PROOFS=<the --proof token> (or the `ucans` header).'
      : `A root token for ${resource}; it works if that principal's DID is ${signer.did}.`,
  );
  return 0;
}

/** `computemd key create --out FILE [--alg Ed25519|P-256|secp256k1]`: a key file (0600) and its DID. */
export function cmdKeyCreate(
  out: string | undefined,
  alg: string | undefined,
  json: boolean,
  io: Io,
): number {
  if (!out) {
    io.err('error: --out: where to write the key file, e.g. --out agent.key');
    return 2;
  }
  const a = alg ?? 'Ed25519';
  if (!isKeyAlg(a)) {
    io.err(`error: --alg: must be Ed25519, P-256 or secp256k1 (got ${a})`);
    return 2;
  }
  try {
    const k = createKeyFile(out, a);
    io.out(json ? JSON.stringify({ did: k.did, alg: a, file: out }) : k.did);
    return 0;
  } catch (err) {
    io.err(`error: --out: ${(err as Error).message}`);
    return 2;
  }
}
