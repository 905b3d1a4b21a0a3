import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { p256 } from '@noble/curves/nist.js';
import fc from 'fast-check';
import { didKeyFromPublicKey } from './did-key.js';
import { createDidResolver, type DidSigner, decodeJws } from './jws.js';
import { generateKey, type KeyAlg, sign } from './keys.js';
import {
  abilityCovers,
  type Capabilities,
  type Caveats,
  caveatsWithin,
  checkCaveats,
  grant,
  issueUcan,
  parseUcan,
  UcanError,
  type UcanErrorCode,
  type UcanPayload,
  ucanCid,
  type ValidateOptions,
  validateUcan,
} from './ucan.js';

const signer = (alg: KeyAlg): DidSigner => {
  const key = generateKey(alg);
  return { key, did: didKeyFromPublicKey(alg, key.publicKey) };
};
const b64u = (x: Uint8Array | string) => Buffer.from(x).toString('base64url');

const NOW = 1_750_000_000;
const RES = 'computemd:principal:pr_alice';
const gateway = signer('Ed25519');
const alice = signer('Ed25519'); // root: the principal's own DID
const bob = signer('P-256');
const carol = signer('secp256k1');
const book = (c: Caveats): Capabilities => ({ [RES]: { 'compute/book': [c] } });

interface Link {
  by: DidSigner;
  to: string;
  cap: Capabilities;
  nbf?: number;
  exp?: number | null;
  prf?: string[]; // overrides the default (the previous link)
}

/** The default chain: alice → bob → carol → gateway, each narrower than the one before. */
function defaults(): Link[] {
  return [
    {
      by: alice,
      to: bob.did,
      cap: { [RES]: { 'compute/*': [{ max_spend_usd: 100, providers: ['vast', 'runpod'] }] } },
      exp: NOW + 3600,
    },
    {
      by: bob,
      to: carol.did,
      cap: book({ max_spend_usd: 50, providers: ['vast', 'runpod'] }),
      exp: NOW + 1800,
    },
    { by: carol, to: gateway.did, cap: book({ max_spend_usd: 20, providers: ['vast'] }), exp: NOW + 600 },
  ];
}

/** Issues root first; each link's proof is the previous one. Returns jwts root first. */
function issueChain(links: Link[]): string[] {
  const out: string[] = [];
  for (const l of links) {
    const prev = out.at(-1);
    out.push(
      issueUcan({
        issuer: l.by,
        audience: l.to,
        capabilities: l.cap,
        ...(l.nbf === undefined ? {} : { notBefore: l.nbf }),
        expiresAt: l.exp === undefined ? NOW + 600 : l.exp,
        proofs: l.prf ?? (prev ? [ucanCid(prev)] : []),
      }),
    );
  }
  return out;
}

function options(jwts: string[], over: Partial<ValidateOptions> = {}) {
  const store = new Map(jwts.map((j) => [ucanCid(j), j]));
  const revokedCalls: (readonly string[])[] = [];
  const o: ValidateOptions = {
    now: NOW,
    audience: gateway.did,
    resolveDid: createDidResolver(),
    proofs: async (cid) => {
      const jwt = store.get(cid);
      return jwt ? { jwt } : null;
    },
    isRevoked: async (cids) => {
      revokedCalls.push(cids);
      return null;
    },
    isRoot: async (iss, resource) => iss === alice.did && resource === RES,
    ...over,
  };
  return { o, revokedCalls };
}

const leafOf = (jwts: string[]) => jwts.at(-1) as string;
const isUcanError =
  (code: UcanErrorCode, extra: { cid?: string; caveat?: string } = {}) =>
  (e: unknown) => {
    assert.ok(e instanceof UcanError, String(e));
    assert.equal(e.code, code, e.message);
    if ('cid' in extra) assert.equal(e.cid, extra.cid);
    if ('caveat' in extra) assert.equal(e.caveat, extra.caveat);
    return true;
  };

describe('validateUcan: a 3-link chain across Ed25519, P-256 and secp256k1', () => {
  it('validates and reports the path leaf → root', async () => {
    const jwts = issueChain(defaults());
    const { o, revokedCalls } = options(jwts);
    const v = await validateUcan(leafOf(jwts), o);
    const cids = jwts.map(ucanCid);
    assert.equal(v.cid, cids[2]);
    assert.equal(v.resource, RES);
    assert.deepEqual(
      v.links.map((l) => [l.cid, l.iss]),
      [
        [cids[2], carol.did],
        [cids[1], bob.did],
        [cids[0], alice.did],
      ],
    );
    // One revocation call with every CID; bob's ES256 token is asked about under both encodings.
    assert.equal(revokedCalls.length, 1);
    assert.equal(revokedCalls[0]?.length, 4);
    for (const c of cids) assert.ok(revokedCalls[0]?.includes(c));
    const g = grant(v, 'compute/book');
    assert.deepEqual(g, {
      ok: true,
      links: [
        { cid: cids[2], caveats: { max_spend_usd: 20, providers: ['vast'] } },
        { cid: cids[1], caveats: { max_spend_usd: 50, providers: ['vast', 'runpod'] } },
        { cid: cids[0], caveats: { max_spend_usd: 100, providers: ['vast', 'runpod'] } },
      ],
    });
    assert.deepEqual(grant(v, 'compute/infer'), { ok: false });
  });

  it('checks time at the boundary: valid at exp - 1, expired at exp', async () => {
    const jwts = issueChain(defaults());
    await validateUcan(leafOf(jwts), options(jwts, { now: NOW + 599 }).o);
    await assert.rejects(
      validateUcan(leafOf(jwts), options(jwts, { now: NOW + 600 }).o),
      isUcanError('expired', { cid: ucanCid(leafOf(jwts)) }),
    );
  });
});

describe('validateUcan: each failure', () => {
  type Case = [string, (l: Link[]) => void, UcanErrorCode, { link?: number; caveat?: string }?];
  const cases: Case[] = [
    [
      'expired leaf',
      (l) => {
        l[2]!.exp = NOW - 1;
      },
      'expired',
      { link: 2 },
    ],
    [
      'nbf in the future',
      (l) => {
        l[2]!.nbf = NOW + 10;
      },
      'not_yet_valid',
      { link: 2 },
    ],
    [
      'child exp beyond parent',
      (l) => {
        l[2]!.exp = NOW + 1801;
      },
      'bad_chain',
      { link: 2 },
    ],
    [
      'child never expires, parent does',
      (l) => {
        l[2]!.exp = null;
      },
      'bad_chain',
      { link: 2 },
    ],
    [
      'child starts before parent',
      (l) => {
        l[1]!.nbf = NOW - 100;
        l[2]!.nbf = NOW - 101;
      },
      'bad_chain',
      { link: 2 },
    ],
    [
      'child without nbf, parent with',
      (l) => {
        l[1]!.nbf = NOW - 100;
      },
      'bad_chain',
      { link: 2 },
    ],
    [
      'wrong audience',
      (l) => {
        l[2]!.to = bob.did;
      },
      'wrong_audience',
      { link: 2 },
    ],
    [
      'broken audience chain',
      (l) => {
        l[1]!.to = signer('Ed25519').did;
      },
      'bad_chain',
      { link: 2 },
    ],
    [
      'escalated ability',
      (l) => {
        l[2]!.cap = { [RES]: { 'compute/infer': [{}] } };
      },
      'escalation',
      { link: 2 },
    ],
    [
      'looser max_spend_usd',
      (l) => {
        l[2]!.cap = book({ max_spend_usd: 51, providers: ['vast'] });
      },
      'escalation',
      { link: 2, caveat: 'max_spend_usd' },
    ],
    [
      'caveat of the parent missing in the child',
      (l) => {
        l[2]!.cap = book({ max_spend_usd: 20 });
      },
      'escalation',
      { link: 2, caveat: 'providers' },
    ],
    [
      'list not a subset',
      (l) => {
        l[2]!.cap = book({ max_spend_usd: 20, providers: ['vast', 'aws'] });
      },
      'escalation',
      { link: 2, caveat: 'providers' },
    ],
    [
      'another resource along the chain',
      (l) => {
        l[2]!.cap = { 'computemd:principal:pr_bob': { 'compute/book': [{}] } };
      },
      'bad_chain',
      { link: 2 },
    ],
    [
      'unknown root issuer',
      (l) => {
        l[0]!.by = signer('Ed25519');
      },
      'unknown_issuer',
      { link: 0 },
    ],
  ];
  for (const [name, mutate, code, at] of cases) {
    it(name, async () => {
      const links = defaults();
      mutate(links);
      if (name === 'unknown root issuer') links[0]!.to = bob.did;
      const jwts = issueChain(links);
      const extra = {
        ...(at?.link === undefined ? {} : { cid: ucanCid(jwts[at.link]!) }),
        ...(at?.caveat ? { caveat: at.caveat } : {}),
      };
      await assert.rejects(validateUcan(leafOf(jwts), options(jwts).o), isUcanError(code, extra));
    });
  }

  it('forged signature: the middle payload re-signed by another key', async () => {
    const [root, mid] = issueChain(defaults()) as [string, string];
    const { header, payload } = decodeJws(mid);
    const mallory = generateKey('P-256');
    const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
    const forged = `${input}.${b64u(sign(mallory, Buffer.from(input)))}`;
    const [leaf] = issueChain([{ ...defaults()[2]!, prf: [ucanCid(forged)] }]) as [string];
    await assert.rejects(
      validateUcan(leaf, options([root, forged, leaf]).o),
      isUcanError('bad_signature', { cid: ucanCid(forged) }),
    );
  });

  it('revoked middle link, found in one isRevoked call', async () => {
    const jwts = issueChain(defaults());
    const mid = ucanCid(jwts[1]!);
    const { o, revokedCalls } = options(jwts, {
      isRevoked: async (cids) => {
        revokedCalls.push(cids);
        return cids.includes(mid) ? mid : null;
      },
    });
    await assert.rejects(validateUcan(leafOf(jwts), o), isUcanError('revoked', { cid: mid }));
    assert.equal(revokedCalls.length, 1);
  });

  it('revocation covers the other encoding of an ES256 signature', async () => {
    const [root, leaf] = issueChain([defaults()[0]!, { ...defaults()[1]!, to: gateway.did }]) as [
      string,
      string,
    ];
    const [h, p, s] = leaf.split('.') as [string, string, string];
    const sig = p256.Signature.fromBytes(Buffer.from(s, 'base64url'));
    const twin = `${h}.${p}.${b64u(new p256.Signature(sig.r, p256.Point.Fn.neg(sig.s)).toBytes('compact'))}`;
    const revokedOriginal = async (cids: readonly string[]) => cids.find((c) => c === ucanCid(leaf)) ?? null;
    await validateUcan(twin, options([root]).o); // the twin verifies on its own
    await assert.rejects(
      validateUcan(twin, options([root], { isRevoked: revokedOriginal }).o),
      isUcanError('revoked', { cid: ucanCid(twin) }),
    );
  });

  it('unknown proof', async () => {
    const jwts = issueChain(defaults());
    await assert.rejects(
      validateUcan(leafOf(jwts), options([jwts[0]!, jwts[2]!]).o),
      isUcanError('unknown_proof', { cid: ucanCid(jwts[1]!) }),
    );
  });

  it('too deep: maxDepth tokens pass, one more does not', async () => {
    const jwts = issueChain(defaults());
    await validateUcan(leafOf(jwts), options(jwts, { maxDepth: 3 }).o);
    await assert.rejects(
      validateUcan(leafOf(jwts), options(jwts, { maxDepth: 2 }).o),
      isUcanError('too_deep'),
    );
  });
});

describe('validateUcan: proofs', () => {
  it('trusts a {payload} record without a signature', async () => {
    // The gateway recorded a root it issued; only the payload is kept, never the JWT.
    const record: UcanPayload = {
      ucv: '0.10.0',
      iss: 'did:web:gateway.example', // not resolvable here: no signature is checked
      aud: carol.did,
      exp: NOW + 3600,
      cap: book({ max_spend_usd: 30 }),
      prf: [],
    };
    const recordCid = ucanCid('stored record key');
    const [leaf] = issueChain([
      { by: carol, to: gateway.did, cap: book({ max_spend_usd: 30 }), prf: [recordCid] },
    ]) as [string];
    const v = await validateUcan(leaf, {
      ...options([]).o,
      proofs: async (cid) => (cid === recordCid ? { payload: record } : null),
      isRoot: async (iss) => iss === 'did:web:gateway.example',
    });
    assert.deepEqual(
      v.links.map((l) => l.cid),
      [ucanCid(leaf), recordCid],
    );
  });

  it('several proofs: each ability is covered by some proof; grant follows the right one', async () => {
    const fromBook = issueUcan({
      issuer: alice,
      audience: carol.did,
      capabilities: book({ max_spend_usd: 10 }),
      expiresAt: NOW + 60,
    });
    const fromInfer = issueUcan({
      issuer: alice,
      audience: carol.did,
      capabilities: { [RES]: { 'compute/infer': [{}] } },
      expiresAt: NOW + 60,
    });
    const proofs = [ucanCid(fromBook), ucanCid(fromInfer)];
    const both = { [RES]: { 'compute/infer': [{}], 'compute/book': [{ max_spend_usd: 5 }] } } as Capabilities;
    const leaf = issueUcan({
      issuer: carol,
      audience: gateway.did,
      capabilities: both,
      expiresAt: NOW + 60,
      proofs,
    });
    const v = await validateUcan(leaf, options([fromBook, fromInfer]).o);
    // links follows the first proof in prf order that delegates one of the leaf's abilities.
    assert.deepEqual(
      v.links.map((l) => l.cid),
      [ucanCid(leaf), proofs[0]],
    );
    const g = grant(v, 'compute/infer');
    assert.ok(g.ok);
    assert.deepEqual(
      g.links.map((l) => l.cid),
      [ucanCid(leaf), proofs[1]],
    );
    const tooMuch = { [RES]: { 'compute/infer': [{}], 'compute/provide': [{}] } } as Capabilities;
    const bad = issueUcan({
      issuer: carol,
      audience: gateway.did,
      capabilities: tooMuch,
      expiresAt: NOW + 60,
      proofs,
    });
    await assert.rejects(validateUcan(bad, options([fromBook, fromInfer]).o), isUcanError('escalation'));
  });

  it('grant merges several covering entries of one link to the strictest', async () => {
    const cap = {
      [RES]: {
        'compute/*': [{ max_spend_usd: 100, providers: ['a', 'b'] }],
        'compute/book': [{ max_spend_usd: 10, providers: ['b', 'c'], max_price_per_hour: 2 }],
      },
    } as Capabilities;
    const leaf = issueUcan({ issuer: alice, audience: gateway.did, capabilities: cap, expiresAt: null });
    const v = await validateUcan(leaf, options([]).o);
    // min(100, 10) = 10; ['a','b'] ∩ ['b','c'] = ['b']; max_price_per_hour only on one entry.
    assert.deepEqual(grant(v, 'compute/book'), {
      ok: true,
      links: [{ cid: v.cid, caveats: { max_spend_usd: 10, providers: ['b'], max_price_per_hour: 2 } }],
    });
    assert.deepEqual(grant(v, 'compute/infer'), {
      ok: true,
      links: [{ cid: v.cid, caveats: { max_spend_usd: 100, providers: ['a', 'b'] } }],
    });
    assert.deepEqual(grant(v, 'billing/pay'), { ok: false });
  });
});

describe('parseUcan / issueUcan structure', () => {
  const ok = issueChain([{ ...defaults()[0]!, to: gateway.did }])[0]!;
  const { header, payload } = decodeJws(ok);
  const forge = (p: Record<string, unknown>, h: Record<string, unknown> = header) => {
    const input = `${b64u(JSON.stringify(h))}.${b64u(JSON.stringify(p))}`;
    return `${input}.${b64u(sign(alice.key, Buffer.from(input)))}`;
  };
  const base = payload as Record<string, unknown>;
  const cases: [string, string, RegExp][] = [
    [
      'two resources',
      forge({ ...base, cap: { [RES]: { 'compute/book': [{}] }, 'x:y': { 'a/b': [{}] } } }),
      /cap/,
    ],
    [
      'two caveat objects',
      forge({ ...base, cap: { [RES]: { 'compute/book': [{}, {}] } } }),
      /exactly one caveat/,
    ],
    ['no caveat', forge({ ...base, cap: { [RES]: { 'compute/book': [] } } }), /exactly one caveat/],
    ['unknown caveat', forge({ ...base, cap: { [RES]: { 'compute/book': [{ max_gpus: 2 }] } } }), /max_gpus/],
    ['bad ability', forge({ ...base, cap: { [RES]: { Book: [{}] } } }), /ability/],
    ['ucv 0.9', forge({ ...base, ucv: '0.9.1' }), /ucv/],
    ['exp missing', forge({ ...base, exp: undefined }), /exp/],
    ['exp fractional', forge({ ...base, exp: NOW + 0.5 }), /exp/],
    ['iss not a DID', forge({ ...base, iss: 'alice' }), /iss/],
    ['prf not a CID', forge({ ...base, prf: ['bafy-not-a-cid'] }), /prf\[0\]/],
    ['typ not JWT', forge(base, { ...header, typ: 'JOSE' }), /typ/],
    ['oversize', forge({ ...base, fct: { pad: 'x'.repeat(17_000) } }), /16384/],
  ];
  for (const [name, jwt, field] of cases) {
    it(`refuses ${name}, naming the field`, () => {
      assert.throws(
        () => parseUcan(jwt),
        (e: unknown) => e instanceof UcanError && e.code === 'malformed' && field.test(e.message),
      );
    });
  }

  it('round-trips and will not issue what it would refuse', () => {
    const p = parseUcan(ok);
    assert.equal(p.cid, ucanCid(ok));
    assert.deepEqual(p.header, { alg: 'EdDSA', typ: 'JWT', kid: `${alice.did}#${alice.did.slice(8)}` });
    assert.equal(p.payload.ucv, '0.10.0');
    assert.throws(
      () =>
        issueUcan({
          issuer: alice,
          audience: bob.did,
          capabilities: book({ max_spend_usd: -1 }),
          expiresAt: null,
        }),
      (e: unknown) => e instanceof UcanError && e.code === 'malformed' && /max_spend_usd/.test(e.message),
    );
  });
});

describe('ucanCid', () => {
  /** RFC 4648 base32 written independently: bits as a string, cut in fives. */
  const base32 = (b: Uint8Array) =>
    (
      [...b]
        .map((x) => x.toString(2).padStart(8, '0'))
        .join('')
        .match(/.{1,5}/g) ?? []
    )
      .map((g) => 'abcdefghijklmnopqrstuvwxyz234567'[Number.parseInt(g.padEnd(5, '0'), 2)])
      .join('');

  it('is CIDv1 raw sha2-256 base32 of the JWT bytes, and stable', () => {
    const jwt = issueChain(defaults())[0]!;
    const bytes = Buffer.concat([
      Buffer.from([0x01, 0x55, 0x12, 0x20]),
      createHash('sha256').update(jwt).digest(),
    ]);
    assert.equal(ucanCid(jwt), `b${base32(bytes)}`);
    assert.equal(ucanCid(jwt), ucanCid(`${jwt}`));
    // The IPFS CID of zero bytes under the raw codec.
    assert.equal(ucanCid(''), 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku');
  });
});

describe('abilities and caveats', () => {
  const covers: [string, string, boolean][] = [
    ['compute/book', 'compute/book', true],
    ['*', 'compute/lease/read', true],
    ['compute/*', 'compute/lease/read', true],
    ['compute/*', 'compute/lease/*', true],
    ['compute/lease/*', 'compute/lease/read', true],
    ['compute/lease/*', 'compute/lease/*', true],
    ['compute/lease/*', 'compute/lease', false],
    ['compute/lease/*', 'compute/*', false],
    ['compute/book', 'compute/booking', false],
    ['compute/*', '*', false],
    ['compute/book', 'compute/*', false],
  ];
  for (const [g, w, expected] of covers)
    it(`${g} covers ${w}: ${expected}`, () => assert.equal(abilityCovers(g, w), expected));

  it('checkCaveats names the problem', () => {
    const table: [unknown, RegExp | null][] = [
      [{}, null],
      [{ max_spend_usd: 0, providers: ['vast'] }, null],
      [{ max_spend_usd: -1 }, /c\.max_spend_usd must be a finite number/],
      [{ max_price_per_hour: Number.POSITIVE_INFINITY }, /max_price_per_hour/],
      [{ providers: [] }, /providers must be a list of 1 to 100/],
      [{ providers: [''] }, /providers/],
      [{ resource_types: Array(101).fill('gpu') }, /resource_types/],
      [{ max_gpus: 1 }, /c\.max_gpus is not a known caveat/],
      [[], /must be an object/],
    ];
    for (const [c, re] of table) {
      const got = checkCaveats(c, 'c');
      if (re === null) assert.equal(got, null);
      else assert.match(got ?? '', re);
    }
  });

  const caveats = fc.record(
    {
      max_spend_usd: fc.integer({ min: 0, max: 5 }),
      max_price_per_hour: fc.integer({ min: 0, max: 5 }),
      providers: fc.subarray(['a', 'b', 'c'], { minLength: 1 }),
      provider_types: fc.subarray(['x', 'y'], { minLength: 1 }),
      resource_types: fc.subarray(['gpu', 'cpu'], { minLength: 1 }),
    },
    { requiredKeys: [] },
  );
  /** A caveat set at least as strict as `c`: numbers lowered, lists shrunk, extra caveats added. */
  const tighter = (c: Caveats) =>
    fc.tuple(fc.nat(3), fc.nat(3), caveats).map(([dn, dp, extra]) => {
      const t: Caveats = { ...extra, ...c };
      if (c.max_spend_usd !== undefined) t.max_spend_usd = Math.max(0, c.max_spend_usd - dn);
      if (c.max_price_per_hour !== undefined) t.max_price_per_hour = Math.max(0, c.max_price_per_hour - dp);
      if (c.providers) t.providers = c.providers.slice(0, Math.max(1, c.providers.length - dn));
      return t;
    });

  it('caveatsWithin is reflexive', () => {
    fc.assert(fc.property(caveats, (c) => caveatsWithin(c, c) === null));
  });

  it('caveatsWithin is transitive', () => {
    const chain = caveats.chain((c) => tighter(c).chain((b) => tighter(b).map((a) => [a, b, c] as const)));
    fc.assert(
      fc.property(chain, ([a, b, c]) => {
        assert.equal(caveatsWithin(a, b), null);
        assert.equal(caveatsWithin(b, c), null);
        return caveatsWithin(a, c) === null;
      }),
    );
    // And over unconstrained triples (mostly vacuous, but free of the generator's bias).
    fc.assert(
      fc.property(
        caveats,
        caveats,
        caveats,
        (a, b, c) =>
          caveatsWithin(a, b) !== null || caveatsWithin(b, c) !== null || caveatsWithin(a, c) === null,
      ),
      { numRuns: 1000 },
    );
  });
});

describe('validateUcan: remembered signatures', () => {
  it('a did:key signature verified once is not verified again; time and revocation still are', async () => {
    const jwts = issueChain(defaults());
    const seen = new Set<string>();
    let resolved = 0;
    const base = createDidResolver();
    const counting: ValidateOptions['resolveDid'] = async (did) => {
      resolved++;
      return base(did);
    };
    const { o } = options(jwts, { resolveDid: counting, verified: seen });
    await validateUcan(leafOf(jwts), o);
    assert.equal(resolved, 3, 'each link verified once');
    assert.equal(seen.size, 3);
    await validateUcan(leafOf(jwts), o);
    assert.equal(resolved, 3, 'the second time, no signature is checked');
    // Expiry and revocation are not part of what is remembered.
    await assert.rejects(validateUcan(leafOf(jwts), { ...o, now: NOW + 601 }), isUcanError('expired'));
    const rootCid = ucanCid(jwts[0] as string);
    await assert.rejects(
      validateUcan(leafOf(jwts), { ...o, isRevoked: async (c) => (c.includes(rootCid) ? rootCid : null) }),
      isUcanError('revoked'),
    );
    // A forged token is another CID: its signature is checked, and fails.
    const [h, p] = leafOf(jwts).split('.');
    // Same signers, another expiry: a real signature of carol's over a different payload.
    const other = issueChain(defaults().map((l, i) => (i === 2 ? { ...l, exp: NOW + 500 } : l)));
    const forged = `${h}.${p}.${leafOf(other).split('.')[2]}`;
    await assert.rejects(validateUcan(forged, o), isUcanError('bad_signature'));
  });
});
