import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { didKeyFromPublicKey, multibaseFromPublicKey } from '../identity/did-key.js';
import { createDidResolver, type DidSigner, decodeJws, jwsAlgFor, signJws } from '../identity/jws.js';
import { generateKey, KEY_ALGS, type KeyAlg, sign } from '../identity/keys.js';
import { signManifest } from '../identity/manifest.js';
import {
  CHECKPOINT_TYP,
  type Checkpoint,
  checkpointDigest,
  checkReceipt,
  ProofError,
  type ProofErrorCode,
  RECEIPT_TYP,
  type Receipt,
  receiptDigest,
  signCheckpoint,
  signReceipt,
  verifiedUsage,
  verifyCheckpoint,
  verifyCheckpointChain,
  verifyReceipt,
} from './proof.js';

const signer = (alg: KeyAlg): DidSigner => {
  const key = generateKey(alg);
  return { key, did: didKeyFromPublicKey(alg, key.publicKey) };
};
const resolve = createDidResolver();
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const b64u = (x: string | Uint8Array) => Buffer.from(x).toString('base64url');
const MiB = 1024 * 1024;
const LEASE = 'ls_01';
const T0 = 1_750_000_000;

/** ProofError 'invalid' whose problems name exactly `params`, in order. */
const hasProblems = (index: number | undefined, params: string[]) => (e: unknown) => {
  assert.ok(e instanceof ProofError && e.code === 'invalid', String(e));
  assert.equal(e.index, index);
  assert.deepEqual(
    e.problems?.map((p) => p.param),
    params,
  );
  return true;
};

const isProof = (code: ProofErrorCode, index?: number) => (e: unknown) => {
  assert.ok(e instanceof ProofError, `expected ProofError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  assert.equal(e.index, index);
  return true;
};

/** Checkpoint i of a steady run: a minute apart, two busy cores (120 cpu-s a minute), +1 MiB a minute. */
const cp = (by: DidSigner, i: number, prev: string | null): Checkpoint => ({
  v: 1,
  lease_id: LEASE,
  seq: i,
  at: T0 + 60 * i,
  cpu_seconds: 120 * i,
  peak_memory_bytes: (512 + i) * MiB,
  outputs_digest: i === 0 ? null : sha(`outputs after ${i} minutes`),
  prev,
  node: by.did,
});

/**
 * n checkpoints, each chained to the one before as signed. `edit` changes checkpoint i before it is
 * signed (raw signJws, so it may build what signCheckpoint refuses); `by` picks its signer.
 */
function build(
  node: DidSigner,
  n: number,
  edit: (c: Checkpoint, i: number) => void = () => {},
  by: (i: number) => DidSigner = () => node,
): string[] {
  const out: string[] = [];
  let prev: string | null = null;
  for (let i = 0; i < n; i++) {
    const c = cp(node, i, prev);
    edit(c, i);
    const jws = signJws(c, by(i), { typ: CHECKPOINT_TYP });
    out.push(jws);
    prev = checkpointDigest(jws);
  }
  return out;
}

/** An edit for `build`: patches checkpoint k only. */
const only =
  (k: number, patch: Partial<Checkpoint>) =>
  (c: Checkpoint, i: number): void => {
    if (i === k) Object.assign(c, patch);
  };

/** Replaces the payload, keeping the original header and signature. */
function tamper(jws: string, edit: (p: Record<string, unknown>) => void): string {
  const [h, , s] = jws.split('.');
  const p = decodeJws(jws).payload as Record<string, unknown>;
  edit(p);
  return `${h}.${b64u(JSON.stringify(p))}.${s}`;
}

/** A JWS with the given header, signed by `by` over header.payload as jws.ts would. */
function rawJws(header: Record<string, unknown>, payload: unknown, by: DidSigner): string {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  return `${input}.${b64u(sign(by.key, Buffer.from(input, 'ascii')))}`;
}

const expectFor = (node: DidSigner) => ({ lease_id: LEASE, node: node.did });

describe('checkpoint chains', () => {
  for (const alg of KEY_ALGS) {
    it(`a 5-checkpoint chain verifies (${alg})`, async () => {
      const node = signer(alg);
      const jws: string[] = [];
      for (let i = 0; i < 5; i++) {
        jws.push(signCheckpoint(cp(node, i, i === 0 ? null : checkpointDigest(jws[i - 1]!)), node));
      }
      const { header } = decodeJws(jws[0]!);
      assert.deepEqual(header, {
        alg: jwsAlgFor(alg),
        typ: CHECKPOINT_TYP,
        kid: `${node.did}#${multibaseFromPublicKey(alg, node.key.publicKey)}`,
      });
      const chain = await verifyCheckpointChain(jws, resolve, expectFor(node));
      assert.deepEqual(
        chain,
        [0, 1, 2, 3, 4].map((i) => cp(node, i, i === 0 ? null : checkpointDigest(jws[i - 1]!))),
      );
      // One step at a time gives the same answers.
      let prev: { jws: string; checkpoint: Checkpoint } | null = null;
      for (const [i, j] of jws.entries()) {
        const checkpoint = await verifyCheckpoint(j, resolve, { ...expectFor(node), prev });
        assert.deepEqual(checkpoint, chain[i]);
        prev = { jws: j, checkpoint };
      }
      // Last is seq 4: cpu 4 × 120 = 480 s; wall (T0 + 240) − T0 = 240 s; peak (512 + 4) MiB.
      assert.deepEqual(verifiedUsage(chain), { cpu_seconds: 480, wall_s: 240, peak_memory_bytes: 516 * MiB });
    });
  }

  it('an empty chain is valid and proves no usage', async () => {
    assert.deepEqual(await verifyCheckpointChain([], resolve, expectFor(signer('Ed25519'))), []);
    assert.deepEqual(verifiedUsage([]), { cpu_seconds: 0, wall_s: 0, peak_memory_bytes: 0 });
  });

  it('equal times and equal usage are not going backwards', async () => {
    const node = signer('Ed25519');
    const jws = build(node, 3, (c) => Object.assign(c, { at: T0, cpu_seconds: 5, peak_memory_bytes: MiB }));
    const chain = await verifyCheckpointChain(jws, resolve, expectFor(node));
    assert.deepEqual(verifiedUsage(chain), { cpu_seconds: 5, wall_s: 0, peak_memory_bytes: MiB });
  });

  for (const alg of KEY_ALGS) {
    it(`bad_signature: a signature by another key under the node's kid (${alg})`, async () => {
      const node = signer(alg);
      const jws = build(node, 5);
      const [h, p] = jws[2]!.split('.') as [string, string];
      jws[2] = `${h}.${p}.${b64u(sign(signer(alg).key, Buffer.from(`${h}.${p}`, 'ascii')))}`;
      await assert.rejects(verifyCheckpointChain(jws, resolve, expectFor(node)), isProof('bad_signature', 2));
    });
  }

  it('bad_signature: a payload changed after signing', async () => {
    const node = signer('P-256');
    const jws = build(node, 5);
    jws[3] = tamper(jws[3]!, (p) => {
      p.cpu_seconds = 1000;
    });
    await assert.rejects(verifyCheckpointChain(jws, resolve, expectFor(node)), isProof('bad_signature', 3));
  });

  it('wrong_signer: a checkpoint signed by another node', async () => {
    const node = signer('Ed25519');
    const other = signer('secp256k1');
    const cases: [string, string[]][] = [
      [
        'the other node names itself',
        build(node, 3, only(1, { node: other.did }), (i) => (i === 1 ? other : node)),
      ],
      [
        'the other node names ours',
        build(
          node,
          3,
          () => {},
          (i) => (i === 1 ? other : node),
        ),
      ],
      ['ours signs a checkpoint naming the other', build(node, 3, only(1, { node: other.did }))],
    ];
    for (const [name, jws] of cases) {
      await assert.rejects(
        verifyCheckpointChain(jws, resolve, expectFor(node)),
        isProof('wrong_signer', 1),
        name,
      );
    }
  });

  it('wrong_lease: a checkpoint of another lease', async () => {
    const node = signer('secp256k1');
    const jws = build(node, 3, only(2, { lease_id: 'ls_02' }));
    await assert.rejects(verifyCheckpointChain(jws, resolve, expectFor(node)), isProof('wrong_lease', 2));
  });

  it('out_of_order: two checkpoints swapped', async () => {
    const node = signer('Ed25519');
    const [a, b, c, d, e] = build(node, 5) as [string, string, string, string, string];
    // Position 1 holds seq 2, but after seq 0 comes seq 1.
    await assert.rejects(
      verifyCheckpointChain([a, c, b, d, e], resolve, expectFor(node)),
      isProof('out_of_order', 1),
    );
  });

  it('out_of_order: a dropped checkpoint (a gap)', async () => {
    const node = signer('P-256');
    const [a, b, , d, e] = build(node, 5) as [string, string, string, string, string];
    await assert.rejects(
      verifyCheckpointChain([a, b, d, e], resolve, expectFor(node)),
      isProof('out_of_order', 2),
    );
  });

  it('out_of_order: a duplicated (replayed) checkpoint', async () => {
    const node = signer('secp256k1');
    const [a, b, c] = build(node, 3) as [string, string, string];
    await assert.rejects(
      verifyCheckpointChain([a, b, b, c], resolve, expectFor(node)),
      isProof('out_of_order', 2),
    );
  });

  it('out_of_order: a chain that does not start at seq 0', async () => {
    const node = signer('Ed25519');
    await assert.rejects(
      verifyCheckpointChain(build(node, 4).slice(1), resolve, expectFor(node)),
      isProof('out_of_order', 0),
    );
  });

  it('broken_chain: prev pointing elsewhere', async () => {
    const node = signer('Ed25519');
    const jws = build(node, 5);
    // Seq 3 names seq 1 instead of seq 2: the seq is right, the link is not.
    const wrong = build(node, 5, only(3, { prev: checkpointDigest(jws[1]!) }));
    await assert.rejects(verifyCheckpointChain(wrong, resolve, expectFor(node)), isProof('broken_chain', 3));
  });

  it('broken_chain: a fork spliced in (another seq 2 signed by the same node)', async () => {
    const node = signer('P-256');
    const main = build(node, 5);
    const fork = build(node, 3, only(2, { cpu_seconds: 250 }));
    const spliced = [main[0]!, main[1]!, fork[2]!, main[3]!, main[4]!];
    await assert.rejects(
      verifyCheckpointChain(spliced, resolve, expectFor(node)),
      isProof('broken_chain', 3),
    );
  });

  it('broken_chain: seq 0 with a prev', async () => {
    const node = signer('Ed25519');
    const jws = build(node, 1, only(0, { prev: sha('nothing') }));
    await assert.rejects(verifyCheckpointChain(jws, resolve, expectFor(node)), isProof('broken_chain', 0));
  });

  it('time_backwards: a checkpoint older than the one before', async () => {
    const node = signer('secp256k1');
    // Seq 2 is at T0 + 120; seq 3 claims T0 + 119.
    const jws = build(node, 5, only(3, { at: T0 + 119 }));
    await assert.rejects(verifyCheckpointChain(jws, resolve, expectFor(node)), isProof('time_backwards', 3));
  });

  it('usage_decreasing: cpu or memory peak going down', async () => {
    const node = signer('Ed25519');
    // Seq 2 has 240 cpu-s and a 514 MiB peak; seq 3 claims less of one.
    const cpu = build(node, 5, only(3, { cpu_seconds: 239.5 }));
    const mem = build(node, 5, only(3, { peak_memory_bytes: 514 * MiB - 1 }));
    for (const jws of [cpu, mem]) {
      await assert.rejects(
        verifyCheckpointChain(jws, resolve, expectFor(node)),
        isProof('usage_decreasing', 3),
      );
    }
  });

  it('invalid: a signed checkpoint with bad fields, naming them', async () => {
    const node = signer('P-256');
    const cases: [string, Record<string, unknown>, string[]][] = [
      ['v 2', { v: 2 }, ['/v']],
      ['negative cpu', { cpu_seconds: -1 }, ['/cpu_seconds']],
      ['cpu NaN (JSON null)', { cpu_seconds: Number.NaN }, ['/cpu_seconds']],
      ['fractional seq', { seq: 0.5 }, ['/seq']],
      ['at as a string', { at: String(T0) }, ['/at']],
      ['upper-case outputs digest', { outputs_digest: sha('x').toUpperCase() }, ['/outputs_digest']],
      ['node not a DID', { node: 'node-7' }, ['/node']],
      ['lease missing (undefined is left out of JSON)', { lease_id: undefined }, ['/lease_id']],
      ['unknown field', { gpu_seconds: 3 }, ['/gpu_seconds']],
      ['several at once', { v: 0, seq: -1, prev: 'x' }, ['/v', '/seq', '/prev']],
    ];
    for (const [name, patch, params] of cases) {
      const jws = signJws({ ...cp(node, 0, null), ...patch }, node, { typ: CHECKPOINT_TYP });
      await assert.rejects(
        verifyCheckpointChain([jws], resolve, expectFor(node)),
        hasProblems(0, params),
        name,
      );
    }
  });

  it('malformed: not a JWS, alg none, no kid, or another typ', async () => {
    const node = signer('Ed25519');
    const c = cp(node, 0, null);
    const manifest = signManifest(
      {
        v: 1,
        requester: node.did,
        run: { command: ['true'] },
        inputs: [],
        resources: {},
        iat: T0,
        nonce: 'n-12345678',
      },
      node,
    );
    const cases: [string, string][] = [
      ['empty', ''],
      ['two parts', 'a.b'],
      ['not base64url JSON', 'not.a.jws'],
      [
        'alg none',
        `${b64u(JSON.stringify({ alg: 'none', typ: CHECKPOINT_TYP }))}.${b64u(JSON.stringify(c))}.`,
      ],
      ['no kid', rawJws({ alg: 'EdDSA', typ: CHECKPOINT_TYP }, c, node)],
      ['no typ', signJws(c, node)],
      ['a manifest', manifest],
      ['a receipt', signJws(c, node, { typ: RECEIPT_TYP })],
    ];
    for (const [name, jws] of cases) {
      await assert.rejects(
        verifyCheckpoint(jws, resolve, { ...expectFor(node), prev: null }),
        isProof('malformed'),
        name,
      );
    }
  });

  it('signCheckpoint refuses an invalid checkpoint and a signer that is not the node', () => {
    const node = signer('Ed25519');
    assert.throws(() => signCheckpoint({ ...cp(node, 0, null), at: -1 }, node), isProof('invalid'));
    assert.throws(() => signCheckpoint(cp(node, 0, null), signer('Ed25519')), isProof('wrong_signer'));
  });

  it('any permutation of a valid chain but the identity fails, at the first position moved', async () => {
    const node = signer('Ed25519');
    const jws = build(node, 6);
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray([0, 1, 2, 3, 4, 5], { minLength: 6, maxLength: 6 }),
        async (perm) => {
          const first = perm.findIndex((p, i) => p !== i);
          fc.pre(first >= 0);
          await assert.rejects(
            verifyCheckpointChain(
              perm.map((p) => jws[p]!),
              resolve,
              expectFor(node),
            ),
            isProof('out_of_order', first),
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});

/** A receipt for `jws`: usage as the chain proves it, completed 5 s after the last checkpoint. */
function receiptFor(node: DidSigner, jws: string[], chain: Checkpoint[]): Receipt {
  return {
    v: 1,
    lease_id: LEASE,
    booking_id: 'bk_01',
    manifest_digest: sha('manifest'),
    outputs: [
      { name: 'model.pt', sha256: sha('weights'), bytes: 1_234_567 },
      { name: 'logs/train.log', sha256: sha('log'), bytes: 4096 },
    ],
    usage: verifiedUsage(chain),
    exit_status: { code: 0, signal: null, reason: 'exited' },
    checkpoint_head: jws.length === 0 ? null : checkpointDigest(jws.at(-1)!),
    checkpoints: jws.length,
    node: node.did,
    completed_at: (chain.at(-1)?.at ?? T0) + 5,
  };
}

async function fixture(alg: KeyAlg = 'Ed25519') {
  const node = signer(alg);
  const jws = build(node, 5);
  const chain = await verifyCheckpointChain(jws, resolve, expectFor(node));
  return { node, jws, chain, receipt: receiptFor(node, jws, chain) };
}
const hashed = [
  { name: 'model.pt', sha256: sha('weights') },
  { name: 'logs/train.log', sha256: sha('log') },
];

describe('receipts', () => {
  for (const alg of KEY_ALGS) {
    it(`verifies offline with only the node's did:key (${alg})`, async () => {
      const { node, jws, receipt } = await fixture(alg);
      const signed = signReceipt(receipt, node);
      assert.equal(decodeJws(signed).header.typ, RECEIPT_TYP);
      assert.equal(receiptDigest(signed), sha(signed));
      const realFetch = globalThis.fetch;
      globalThis.fetch = () => Promise.reject(new Error('no network in this test'));
      try {
        const fresh = createDidResolver();
        assert.deepEqual(await verifyReceipt(signed, fresh), receipt);
        const expect = { node: node.did, lease_id: LEASE, checkpoints: jws, outputs: hashed };
        assert.deepEqual(await verifyReceipt(signed, createDidResolver(), expect), receipt);
      } finally {
        globalThis.fetch = realFetch;
      }
    });
  }

  it('broken_chain: head or count that does not match the chain', async () => {
    const { node, jws, receipt } = await fixture('P-256');
    const cases: [string, Partial<Receipt>, string[]][] = [
      ['head names seq 3', { checkpoint_head: checkpointDigest(jws[3]!) }, jws],
      ['count 4 with the right head', { checkpoints: 4 }, jws],
      ['no checkpoints claimed', { checkpoint_head: null, checkpoints: 0 }, jws],
      ['the chain given is one short', {}, jws.slice(0, 4)],
    ];
    for (const [name, edit, checkpoints] of cases) {
      const signed = signReceipt({ ...receipt, ...edit }, node);
      await assert.rejects(verifyReceipt(signed, resolve, { checkpoints }), isProof('broken_chain'), name);
    }
  });

  it('invalid: usage above what the chain proves', async () => {
    const { node, jws, receipt } = await fixture('secp256k1');
    // The chain proves 480 cpu-s, 240 s from first to last checkpoint and a 516 MiB peak; the
    // receipt completes 5 s after the last, so wall_s may be up to 245.
    const cases: [Partial<Receipt['usage']>, number, string[]][] = [
      [{}, 0, []],
      [{ cpu_seconds: 480.5 }, 0, ['/usage/cpu_seconds']],
      [{ cpu_seconds: 600 }, 120, []], // 480 + 120 slack = 600
      [{ cpu_seconds: 600.5 }, 120, ['/usage/cpu_seconds']],
      [{ wall_s: 245 }, 0, []],
      [{ wall_s: 246 }, 0, ['/usage/wall_s']],
      [{ peak_memory_bytes: 516 * MiB + 1 }, 0, ['/usage/peak_memory_bytes']],
    ];
    for (const [usage, slackCpuSeconds, params] of cases) {
      const signed = signReceipt({ ...receipt, usage: { ...receipt.usage, ...usage } }, node);
      const v = verifyReceipt(signed, resolve, { checkpoints: jws, slackCpuSeconds });
      if (params.length === 0) await v;
      else await assert.rejects(v, hasProblems(undefined, params), JSON.stringify(usage));
    }
  });

  it('a negative or non-finite slack is a caller bug', async () => {
    const { node, jws, receipt } = await fixture();
    const signed = signReceipt(receipt, node);
    for (const slackCpuSeconds of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      await assert.rejects(verifyReceipt(signed, resolve, { checkpoints: jws, slackCpuSeconds }), TypeError);
    }
  });

  it('time_backwards: completed before the last checkpoint', async () => {
    const { node, jws, receipt } = await fixture();
    const signed = signReceipt({ ...receipt, completed_at: T0 + 239 }, node);
    await assert.rejects(verifyReceipt(signed, resolve, { checkpoints: jws }), isProof('time_backwards'));
  });

  it('invalid: a node that lies about its output, named', async () => {
    const { node, receipt } = await fixture();
    const signed = signReceipt(receipt, node);
    // The verifier hashed model.pt itself and got something else.
    const mine = [{ name: 'model.pt', sha256: sha('other weights') }, hashed[1]!];
    await assert.rejects(verifyReceipt(signed, resolve, { outputs: mine }), (e: unknown) => {
      assert.ok(hasProblems(undefined, ['/outputs/0/sha256'])(e));
      assert.match(
        (e as ProofError).message,
        /output model\.pt is .* in the receipt but .* as the verifier hashed it/,
      );
      return true;
    });
    const missing = [...hashed, { name: 'metrics.json', sha256: sha('m') }];
    await assert.rejects(verifyReceipt(signed, resolve, { outputs: missing }), (e: unknown) => {
      assert.ok(hasProblems(undefined, ['/outputs'])(e));
      assert.match((e as ProofError).message, /metrics\.json/);
      return true;
    });
  });

  it('bad_signature: a receipt changed after signing', async () => {
    const { node, receipt } = await fixture('P-256');
    const signed = tamper(signReceipt(receipt, node), (r) => {
      (r.outputs as { sha256: string }[])[0]!.sha256 = sha('other weights');
    });
    await assert.rejects(verifyReceipt(signed, resolve), isProof('bad_signature'));
  });

  it('wrong_signer and wrong_lease against expectations', async () => {
    const { node, receipt } = await fixture();
    const signed = signReceipt(receipt, node);
    await assert.rejects(
      verifyReceipt(signed, resolve, { node: signer('Ed25519').did }),
      isProof('wrong_signer'),
    );
    await assert.rejects(verifyReceipt(signed, resolve, { lease_id: 'ls_02' }), isProof('wrong_lease'));
    const other = signer('Ed25519');
    const byOther = signJws(receipt, other, { typ: RECEIPT_TYP });
    await assert.rejects(verifyReceipt(byOther, resolve), isProof('wrong_signer'));
  });

  it('a bad checkpoint in the chain keeps its code and index', async () => {
    const { node, jws, receipt } = await fixture();
    const chain = [...jws];
    chain[2] = tamper(chain[2]!, (p) => {
      p.cpu_seconds = 0;
    });
    const signed = signReceipt(receipt, node);
    await assert.rejects(verifyReceipt(signed, resolve, { checkpoints: chain }), isProof('bad_signature', 2));
  });

  it('malformed: a checkpoint passed as a receipt', async () => {
    const { jws } = await fixture();
    await assert.rejects(verifyReceipt(jws[0]!, resolve), isProof('malformed'));
  });

  it('signReceipt refuses an invalid receipt and a signer that is not the node', async () => {
    const { node, receipt } = await fixture();
    assert.throws(() => signReceipt({ ...receipt, checkpoints: -1 }, node), isProof('invalid'));
    assert.throws(() => signReceipt(receipt, signer('Ed25519')), isProof('wrong_signer'));
  });

  it('checkReceipt names every bad field', async () => {
    const { receipt } = await fixture();
    type R = Receipt & Record<string, unknown>;
    const many = Array.from({ length: 257 }, (_, i) => ({ name: `o${i}`, sha256: sha(''), bytes: 0 }));
    const killed = { code: null, signal: 'SIGKILL', reason: 'out of time' };
    const cases: [string, (r: R) => unknown, string[]][] = [
      ['valid', () => {}, []],
      [
        'no manifest, killed, no checkpoints',
        (r) =>
          Object.assign(r, {
            manifest_digest: null,
            exit_status: killed,
            checkpoint_head: null,
            checkpoints: 0,
          }),
        [],
      ],
      ['both code and signal', (r) => Object.assign(r.exit_status, { signal: 'SIGTERM' }), ['/exit_status']],
      [
        'signal not SIG…',
        (r) => Object.assign(r.exit_status, { code: null, signal: 'kill' }),
        ['/exit_status/signal'],
      ],
      ['empty reason', (r) => Object.assign(r.exit_status, { reason: '' }), ['/exit_status/reason']],
      ['absolute output', (r) => Object.assign(r.outputs[0]!, { name: '/etc/passwd' }), ['/outputs/0/name']],
      [
        'output .. segment',
        (r) => Object.assign(r.outputs[1]!, { name: 'logs/../../x' }),
        ['/outputs/1/name'],
      ],
      ['output listed twice', (r) => Object.assign(r.outputs[1]!, { name: 'model.pt' }), ['/outputs/1/name']],
      ['output bytes negative', (r) => Object.assign(r.outputs[0]!, { bytes: -1 }), ['/outputs/0/bytes']],
      ['unknown usage field', (r) => Object.assign(r.usage, { gpu_s: 1 }), ['/usage/gpu_s']],
      ['head without count', (r) => Object.assign(r, { checkpoints: 0 }), ['/checkpoint_head']],
      ['257 outputs', (r) => Object.assign(r, { outputs: many }), ['/outputs']],
      ['usage an array', (r) => Object.assign(r, { usage: [] }), ['/usage']],
    ];
    for (const [name, edit, params] of cases) {
      const r = structuredClone(receipt) as R;
      edit(r);
      const c = checkReceipt(r);
      assert.deepEqual(c.ok ? [] : c.problems.map((p) => p.param), params, name);
    }
    assert.deepEqual(checkReceipt(null), {
      ok: false,
      problems: [{ param: '', detail: 'must be a JSON object' }],
    });
  });
});
