import { type DidResolver, JwsError, verifyJws } from './jws.js';
import { abilityCovers, type Caveats, caveatsWithin, strictest } from './ucan-caveats.js';
import {
  type Capabilities,
  checkPayload,
  MAX_UCAN_VISITS,
  type Parsed,
  parse,
  UcanError,
  type UcanPayload,
} from './ucan-token.js';

export { ABILITIES, abilityCovers, type Caveats, caveatsWithin, checkCaveats } from './ucan-caveats.js';
export * from './ucan-token.js';

/** Validating a UCAN chain (the tokens themselves: ucan-token.ts; abilities and caveats: ucan-caveats.ts). */
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
