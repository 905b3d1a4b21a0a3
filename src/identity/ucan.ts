import { p256 } from '@noble/curves/nist.js';
import { isRawSha256Cid, rawSha256Cid } from './cid.js';
import { type DidResolver, type DidSigner, decodeJws, isDid, JwsError, signJws, verifyJws } from './jws.js';

/**
 * UCAN 0.10 in its JWT form, written here: the one library (@ucans/ucans) has been unmaintained
 * since 2023, and we need a narrower profile than the spec anyway.
 *
 * Profile (stricter than UCAN 0.10, each refusal is `malformed` naming the field):
 * - one resource per token, the same resource along the whole chain (no `ucan:` re-delegation);
 * - each ability maps to exactly one caveat object (`[{}]` = unrestricted), with the caveats of
 *   `checkCaveats` only, so attenuation is decidable field by field;
 * - `prf` holds CIDv1 raw sha2-256 base32 (cid.ts), the form 0.10 recommends; `nbf: null` is read
 *   as absent; times are integer epoch seconds; a token is at most 16 KiB.
 *
 * Validation does every cheap local check first (structure, time, audience, chain, attenuation),
 * then one `isRevoked` call for the whole DAG, then signatures (which may fetch a did:web), then
 * `isRoot` for each root. Every proof a token names must be valid, not just the ones needed.
 *
 * Revocation is by CID, i.e. by the hash of the exact JWT. An ES256 signature has a twin (r, n−s)
 * that also verifies (jws.ts accepts high-S for interop), so a revoked ES256 token could be
 * re-presented under a new CID; `isRevoked` is therefore asked about both CIDs of such a token.
 */
export const UCAN_VERSION = '0.10.0';
export const MAX_UCAN_LENGTH = 16 * 1024;
/** The most tokens one validation walks (a DAG of several proofs per link could otherwise explode). */
export const MAX_UCAN_VISITS = 64;

export const ABILITIES = [
  'compute/discover',
  'compute/orchestrate',
  'compute/book',
  'compute/lease/*',
  'compute/provide',
  'compute/infer',
  'compute/admin',
] as const;

export interface Caveats {
  max_spend_usd?: number;
  max_price_per_hour?: number;
  providers?: string[];
  provider_types?: string[];
  resource_types?: string[];
}

/** resource (e.g. `computemd:principal:pr_x`) → ability → exactly one caveat object. */
export type Capabilities = Record<string, Record<string, [Caveats]>>;

export interface UcanPayload {
  ucv: string;
  iss: string;
  aud: string;
  nbf?: number;
  exp: number | null;
  nnc?: string;
  fct?: Record<string, unknown>;
  cap: Capabilities;
  prf: string[];
}

export type UcanErrorCode =
  | 'malformed'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_audience'
  | 'revoked'
  | 'escalation'
  | 'unknown_proof'
  | 'bad_chain'
  | 'unknown_issuer'
  | 'too_deep';

export class UcanError extends Error {
  override readonly name = 'UcanError';
  /** The token the failure is about. */
  readonly cid?: string;
  /** For `escalation`: the caveat that is looser than every proof allows. */
  readonly caveat?: string;
  constructor(
    readonly code: UcanErrorCode,
    message: string,
    extra: { cid?: string; caveat?: string; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    if (extra.cid !== undefined) this.cid = extra.cid;
    if (extra.caveat !== undefined) this.caveat = extra.caveat;
  }
}

// ------------------------------------------------------------------ abilities and caveats

const NUMERIC = ['max_spend_usd', 'max_price_per_hour'] as const;
const LISTS = ['providers', 'provider_types', 'resource_types'] as const;
const ABILITY = /^(?:\*|[a-z0-9_-]+(?:\/[a-z0-9_-]+)*\/(?:[a-z0-9_-]+|\*))$/;
const RESOURCE = /^[a-z][a-z0-9+.-]*:\S+$/;

/** `*` covers everything; `a/*` covers every `a/…` (and `a/*` itself); otherwise exact. */
export function abilityCovers(granted: string, wanted: string): boolean {
  if (granted === wanted || granted === '*') return true;
  return granted.endsWith('/*') && wanted.startsWith(granted.slice(0, -1));
}

/**
 * null when `child` is at least as strict as `parent`, else the name of the first looser caveat.
 * Absent in the parent = unlimited; present in the parent but absent in the child = looser.
 */
export function caveatsWithin(child: Caveats, parent: Caveats): string | null {
  for (const k of NUMERIC) {
    const p = parent[k];
    const c = child[k];
    if (p !== undefined && (c === undefined || c > p)) return k;
  }
  for (const k of LISTS) {
    const p = parent[k];
    const c = child[k];
    if (p !== undefined && (c === undefined || !c.every((x) => p.includes(x)))) return k;
  }
  return null;
}

/** The strictest of two caveat sets: minimum of numbers, intersection of lists (may be empty). */
function strictest(a: Caveats, b: Caveats): Caveats {
  const out: Caveats = { ...a };
  for (const k of NUMERIC) {
    const v = b[k];
    if (v !== undefined) out[k] = Math.min(v, out[k] ?? v);
  }
  for (const k of LISTS) {
    const v = b[k];
    if (v !== undefined) out[k] = out[k] === undefined ? [...v] : (out[k] ?? []).filter((x) => v.includes(x));
  }
  return out;
}

/** Validation problem in `c` (named with `path`), or null. */
export function checkCaveats(c: unknown, path: string): string | null {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return `${path} must be an object of caveats`;
  for (const [k, v] of Object.entries(c)) {
    if ((NUMERIC as readonly string[]).includes(k)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
        return `${path}.${k} must be a finite number >= 0`;
    } else if ((LISTS as readonly string[]).includes(k)) {
      const ok = Array.isArray(v) && v.length >= 1 && v.length <= 100;
      if (!ok || !v.every((s) => typeof s === 'string' && s.length > 0 && s.length <= 200)) {
        return `${path}.${k} must be a list of 1 to 100 non-empty strings`;
      }
    } else {
      return `${path}.${k} is not a known caveat (known: ${[...NUMERIC, ...LISTS].join(', ')})`;
    }
  }
  return null;
}

// ------------------------------------------------------------------ structure

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
const isTime = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

/** Checks a payload's shape; `trusted` (a record the gateway stored) may omit `ucv`. */
function checkPayload(raw: unknown, trusted: boolean): UcanPayload {
  const bad = (field: string, why: string) => new UcanError('malformed', `UCAN ${field} ${why}`);
  if (!isObject(raw)) throw bad('payload', 'is not a JSON object');
  const { ucv, iss, aud, nbf, exp, nnc, fct, cap, prf } = raw;
  if (!(trusted && ucv === undefined) && (typeof ucv !== 'string' || !/^0\.10\.\d+$/.test(ucv))) {
    throw bad('ucv', `must be 0.10.x, got ${JSON.stringify(ucv)}. To fix: issue a UCAN 0.10 token`);
  }
  if (!isDid(iss)) throw bad('iss', 'must be a DID');
  if (!isDid(aud)) throw bad('aud', 'must be a DID');
  if (nbf !== undefined && nbf !== null && !isTime(nbf)) throw bad('nbf', 'must be integer epoch seconds');
  if (exp !== null && !isTime(exp)) throw bad('exp', 'must be integer epoch seconds or null');
  if (nnc !== undefined && (typeof nnc !== 'string' || nnc.length > 256))
    throw bad('nnc', 'must be a string');
  if (fct !== undefined && !isObject(fct)) throw bad('fct', 'must be an object');
  if (!isObject(cap)) throw bad('cap', 'must be an object');
  const resources = Object.keys(cap);
  if (resources.length !== 1) throw bad('cap', `must name exactly one resource, got ${resources.length}`);
  const resource = resources[0] as string;
  if (resource.length > 512 || !RESOURCE.test(resource))
    throw bad(`cap resource ${resource}`, 'is not a URI');
  const abilities = cap[resource];
  if (!isObject(abilities) || Object.keys(abilities).length === 0) {
    throw bad(`cap["${resource}"]`, 'must map at least one ability');
  }
  for (const [ability, cav] of Object.entries(abilities)) {
    const at = `cap["${resource}"]["${ability}"]`;
    if (ability.length > 100 || !ABILITY.test(ability)) throw bad(at, 'is not an ability (namespace/name)');
    if (!Array.isArray(cav) || cav.length !== 1)
      throw bad(at, 'must be an array of exactly one caveat object');
    const why = checkCaveats(cav[0], `${at}[0]`);
    if (why) throw new UcanError('malformed', `UCAN ${why}`);
  }
  if (!Array.isArray(prf)) throw bad('prf', 'must be an array');
  prf.forEach((c, i) => {
    if (!isRawSha256Cid(c)) throw bad(`prf[${i}]`, 'must be a CIDv1 raw sha2-256 base32 CID');
  });
  return {
    ucv: (ucv as string | undefined) ?? UCAN_VERSION,
    iss,
    aud,
    ...(isTime(nbf) ? { nbf } : {}),
    exp,
    ...(nnc === undefined ? {} : { nnc: nnc as string }),
    ...(fct === undefined ? {} : { fct }),
    cap: cap as Capabilities,
    prf: prf as string[],
  };
}

/** CIDv1 raw sha2-256 of the JWT's bytes, base32 (`b…`): how UCAN 0.10 names a proof. */
export function ucanCid(jwt: string): string {
  return rawSha256Cid(jwt);
}

interface Parsed {
  header: Record<string, unknown>;
  payload: UcanPayload;
  cid: string;
  /** The CID of the other encoding of an ES256 signature (see the header), or null. */
  twin: string | null;
}

function parse(jwt: string): Parsed {
  if (typeof jwt !== 'string' || jwt.length > MAX_UCAN_LENGTH) {
    throw new UcanError('malformed', `UCAN must be a JWT of at most ${MAX_UCAN_LENGTH} bytes`);
  }
  let d: ReturnType<typeof decodeJws>;
  try {
    d = decodeJws(jwt);
  } catch (e) {
    throw new UcanError('malformed', (e as Error).message, { cause: e });
  }
  if (d.header.typ !== 'JWT') throw new UcanError('malformed', 'UCAN header typ must be "JWT"');
  const payload = checkPayload(d.payload, false);
  let twin: string | null = null;
  if (d.header.alg === 'ES256' && d.signature.length === 64) {
    try {
      const s = p256.Signature.fromBytes(d.signature);
      const other = new p256.Signature(s.r, p256.Point.Fn.neg(s.s)).toBytes('compact');
      twin = ucanCid(`${jwt.slice(0, jwt.lastIndexOf('.'))}.${Buffer.from(other).toString('base64url')}`);
    } catch {
      // Not a valid signature encoding: verification will refuse it anyway.
    }
  }
  return { header: d.header, payload, cid: ucanCid(jwt), twin };
}

export function parseUcan(jwt: string): {
  header: Record<string, unknown>;
  payload: UcanPayload;
  cid: string;
} {
  const { header, payload, cid } = parse(jwt);
  return { header, payload, cid };
}

/** Signs a UCAN. Refuses (UcanError 'malformed') to issue a token `parseUcan` would refuse. */
export function issueUcan(o: {
  issuer: DidSigner;
  audience: string;
  capabilities: Capabilities;
  notBefore?: number;
  expiresAt: number | null;
  proofs?: string[];
  facts?: Record<string, unknown>;
  nonce?: string;
}): string {
  const payload = checkPayload(
    {
      ucv: UCAN_VERSION,
      iss: o.issuer.did,
      aud: o.audience,
      ...(o.notBefore === undefined ? {} : { nbf: o.notBefore }),
      exp: o.expiresAt,
      ...(o.nonce === undefined ? {} : { nnc: o.nonce }),
      ...(o.facts === undefined ? {} : { fct: o.facts }),
      cap: o.capabilities,
      prf: o.proofs ?? [],
    },
    false,
  );
  const jwt = signJws(payload, o.issuer, { typ: 'JWT' });
  if (jwt.length > MAX_UCAN_LENGTH) throw new UcanError('malformed', `UCAN exceeds ${MAX_UCAN_LENGTH} bytes`);
  return jwt;
}

// ------------------------------------------------------------------ validation

export type ProofSource = (cid: string) => Promise<{ jwt: string } | { payload: UcanPayload } | null>;

export interface ValidateOptions {
  /** Epoch seconds. */
  now: number;
  /** The gateway's DID: the presented token's `aud`. */
  audience: string;
  resolveDid: DidResolver;
  /** `{jwt}`: sent by the client, signature checked; `{payload}`: stored by the gateway, trusted. */
  proofs: ProofSource;
  /** Called once with every CID of the chain; returns the first revoked one, or null. */
  isRevoked: (cids: readonly string[]) => Promise<string | null>;
  /** May `iss` originate capabilities on `resource`? Asked for each token without proofs. */
  isRoot: (iss: string, resource: string) => Promise<boolean>;
  /** Longest chain, counting the presented token. Default 8. */
  maxDepth?: number;
  /**
   * CIDs whose signature was verified before. A CID hashes the exact JWT and a did:key never
   * changes its key, so a did:key-signed CID that verified once verifies forever: only those are
   * remembered (a did:web document may rotate its keys). Time, revocation and attenuation are
   * checked on every call regardless.
   */
  verified?: { has(cid: string): boolean; add(cid: string): void };
}

export interface UcanLink {
  cid: string;
  iss: string;
  aud: string;
  nbf: number | null;
  exp: number | null;
  cap: Capabilities;
  prf: string[];
  /** For each ability of this link: the proof (cid, and its covering ability) that delegates it. */
  via: Record<string, { cid: string; ability: string }>;
}

export interface ValidatedUcan {
  cid: string;
  resource: string;
  /** One path, leaf first, root last: at each link, the first proof in `prf` that delegates one of
   *  its abilities. With several proofs other paths exist; they are in `tokens`. */
  links: UcanLink[];
  /** Every token of the chain by CID (the whole DAG). */
  tokens: Record<string, UcanLink>;
}

interface Node extends Parsed {
  jwt: string | null;
  resource: string;
}

const resourceOf = (p: UcanPayload) => Object.keys(p.cap)[0] as string;

function checkTime(n: Node, now: number): void {
  const { exp, nbf } = n.payload;
  if (exp !== null && now >= exp) {
    throw new UcanError('expired', `UCAN ${n.cid} expired at ${exp} (now ${now})`, { cid: n.cid });
  }
  if (nbf !== undefined && now < nbf) {
    throw new UcanError('not_yet_valid', `UCAN ${n.cid} is not valid before ${nbf} (now ${now})`, {
      cid: n.cid,
    });
  }
}

function checkLink(child: Node, parent: Node): void {
  const broken = (why: string) => new UcanError('bad_chain', `UCAN ${child.cid}: ${why}`, { cid: child.cid });
  const c = child.payload;
  const p = parent.payload;
  if (p.aud !== c.iss)
    throw broken(`its issuer ${c.iss} is not the audience ${p.aud} of proof ${parent.cid}`);
  if (parent.resource !== child.resource) {
    throw broken(`its resource ${child.resource} differs from proof ${parent.cid}'s ${parent.resource}`);
  }
  if (p.nbf !== undefined && (c.nbf === undefined || c.nbf < p.nbf)) {
    throw broken(`it starts before proof ${parent.cid} (nbf ${p.nbf}). To fix: set nbf >= ${p.nbf}`);
  }
  if (p.exp !== null && (c.exp === null || c.exp > p.exp)) {
    throw broken(`it outlives proof ${parent.cid} (exp ${p.exp}). To fix: set exp <= ${p.exp}`);
  }
}

/** Which proof delegates each ability of `child`; escalation when none does. */
function attenuate(child: Node, proofs: readonly Node[]): UcanLink['via'] {
  const via: UcanLink['via'] = {};
  const r = child.resource;
  for (const [ability, [caveats]] of Object.entries(child.payload.cap[r] ?? {})) {
    let looser: string | null = null;
    search: for (const p of proofs) {
      for (const [granted, [pc]] of Object.entries(p.payload.cap[r] ?? {})) {
        if (!abilityCovers(granted, ability)) continue;
        const why = caveatsWithin(caveats, pc);
        if (why === null) {
          via[ability] = { cid: p.cid, ability: granted };
          break search;
        }
        looser ??= why;
      }
    }
    if (via[ability] === undefined) {
      const what =
        looser === null
          ? `no proof delegates ${ability}`
          : `caveat ${looser} of ${ability} is looser than its proofs allow`;
      throw new UcanError('escalation', `UCAN ${child.cid}: ${what} on ${r}`, {
        cid: child.cid,
        ...(looser === null ? {} : { caveat: looser }),
      });
    }
  }
  return via;
}

export async function validateUcan(jwt: string, o: ValidateOptions): Promise<ValidatedUcan> {
  const maxDepth = o.maxDepth ?? 8;
  const leaf: Node = { ...parse(jwt), jwt, resource: '' };
  leaf.resource = resourceOf(leaf.payload);
  if (leaf.payload.aud !== o.audience) {
    throw new UcanError('wrong_audience', `UCAN is addressed to ${leaf.payload.aud}, not ${o.audience}`, {
      cid: leaf.cid,
    });
  }
  const nodes = new Map<string, Node>([[leaf.cid, leaf]]);
  const vias = new Map<string, UcanLink['via']>();
  let visits = 0;

  async function load(cid: string): Promise<Node> {
    const known = nodes.get(cid);
    if (known) return known;
    const src = await o.proofs(cid);
    let n: Node;
    if (src && 'jwt' in src && typeof src.jwt === 'string') {
      n = { ...parse(src.jwt), jwt: src.jwt, resource: '' };
      if (n.cid !== cid)
        throw new UcanError('unknown_proof', `the proof given for ${cid} hashes to ${n.cid}`, { cid });
    } else if (src && 'payload' in src) {
      n = { header: {}, payload: checkPayload(src.payload, true), cid, twin: null, jwt: null, resource: '' };
    } else {
      throw new UcanError('unknown_proof', `proof ${cid} was not found. To fix: send it with the token`, {
        cid,
      });
    }
    n.resource = resourceOf(n.payload);
    nodes.set(cid, n);
    return n;
  }

  async function visit(n: Node, depth: number): Promise<void> {
    if (++visits > MAX_UCAN_VISITS)
      throw new UcanError('too_deep', `UCAN chain has over ${MAX_UCAN_VISITS} tokens`);
    checkTime(n, o.now);
    if (n.payload.prf.length > 0 && depth >= maxDepth) {
      throw new UcanError('too_deep', `UCAN chain is longer than ${maxDepth} tokens`, { cid: n.cid });
    }
    const proofs: Node[] = [];
    for (const cid of n.payload.prf) {
      const p = await load(cid);
      checkLink(n, p);
      proofs.push(p);
    }
    vias.set(n.cid, proofs.length === 0 ? {} : attenuate(n, proofs));
    for (const p of proofs) await visit(p, depth + 1);
  }
  await visit(leaf, 1);

  const all = [...nodes.values()];
  const revoked = await o.isRevoked(all.flatMap((n) => (n.twin ? [n.cid, n.twin] : [n.cid])));
  if (revoked !== null) {
    const n = all.find((x) => x.cid === revoked || x.twin === revoked);
    throw new UcanError('revoked', `UCAN ${revoked} in the chain was revoked`, { cid: n?.cid ?? revoked });
  }
  for (const n of all) {
    if (n.jwt === null || o.verified?.has(n.cid)) continue;
    try {
      await verifyJws(n.jwt, o.resolveDid, { expectedDid: n.payload.iss, typ: 'JWT' });
      if (n.payload.iss.startsWith('did:key:')) o.verified?.add(n.cid);
    } catch (e) {
      if (!(e instanceof JwsError)) throw e;
      throw new UcanError('bad_signature', `UCAN ${n.cid}: ${e.message}`, { cid: n.cid, cause: e });
    }
  }
  for (const n of all) {
    if (n.payload.prf.length === 0 && !(await o.isRoot(n.payload.iss, n.resource))) {
      throw new UcanError(
        'unknown_issuer',
        `${n.payload.iss} may not originate capabilities on ${n.resource}`,
        {
          cid: n.cid,
        },
      );
    }
  }

  const tokens: Record<string, UcanLink> = {};
  for (const n of all) {
    const { iss, aud, nbf, exp, cap, prf } = n.payload;
    tokens[n.cid] = { cid: n.cid, iss, aud, nbf: nbf ?? null, exp, cap, prf, via: vias.get(n.cid) ?? {} };
  }
  const links: UcanLink[] = [];
  for (let l = tokens[leaf.cid]; l; ) {
    links.push(l);
    const used = new Set(Object.values(l.via).map((v) => v.cid));
    const next = l.prf.find((c) => used.has(c));
    l = next === undefined ? undefined : tokens[next];
  }
  return { cid: leaf.cid, resource: leaf.resource, links, tokens };
}

/**
 * Whether the token grants `ability`, and the caveats each link on its path attaches (the caller
 * enforces every link's, e.g. a spend budget per delegation). The path starts at the leaf and, at
 * each link, follows the proof that delegated the first of its entries covering `ability`; where
 * several entries of one link cover it, their caveats merge to the strictest of each.
 */
export function grant(
  v: ValidatedUcan,
  ability: string,
): { ok: true; links: { cid: string; caveats: Caveats }[] } | { ok: false } {
  const out: { cid: string; caveats: Caveats }[] = [];
  for (let l = v.tokens[v.cid]; l; ) {
    const covering = Object.entries(l.cap[v.resource] ?? {}).filter(([a]) => abilityCovers(a, ability));
    if (covering.length === 0) return { ok: false };
    out.push({ cid: l.cid, caveats: covering.map(([, [c]]) => c).reduce(strictest, {}) });
    const next = l.via[covering[0]?.[0] as string];
    l = next === undefined ? undefined : v.tokens[next.cid];
  }
  return out.length === 0 ? { ok: false } : { ok: true, links: out };
}
