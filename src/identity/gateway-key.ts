import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { didKeyFromPublicKey } from './did-key.js';
import {
  exportSecretKey,
  generateKey,
  importSecretKey,
  isKeyAlg,
  type KeyAlg,
  type KeyPair,
} from './keys.js';

/**
 * Key files, and the gateway's own identity: an Ed25519 key at `<dataDir>/gateway.key` (mode
 * 0600), created on first start, and its did:key. A key file is JSON:
 *   {"version":1,"alg":"Ed25519","did":"did:key:z6Mk…","secret_key":"<32 bytes base64url>"}
 * Loading re-derives the DID from the secret and refuses a file whose DID does not match. Error
 * messages name the file and the problem, never the secret.
 */
export const GATEWAY_KEY_FILE = 'gateway.key';

export interface GatewayIdentity {
  did: string;
  key: KeyPair;
  /** True when this call created the key file. */
  created: boolean;
  path: string;
}

export class GatewayKeyError extends Error {
  override readonly name = 'GatewayKeyError';
}

interface StoredKey {
  version: 1;
  alg: KeyAlg;
  did: string;
  secret_key: string;
}

/**
 * A key file's content (the gateway's, or any principal's: `computemd key create`). `alg` given:
 * the file must hold that algorithm.
 */
function parseStored(path: string, text: string, alg?: KeyAlg): { did: string; key: KeyPair } {
  const bad = (why: string) => new GatewayKeyError(`${path} is malformed: ${why}`);
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) throw bad('not a JSON object');
  const s = j as Record<string, unknown>;
  if (s.version !== 1) throw bad(`unsupported version ${JSON.stringify(s.version)}`);
  if (alg ? s.alg !== alg : !isKeyAlg(s.alg))
    throw bad(
      `alg must be ${alg ? `"${alg}"` : 'Ed25519, P-256 or secp256k1'}, got ${JSON.stringify(s.alg)}`,
    );
  const a = s.alg as KeyAlg;
  if (typeof s.secret_key !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(s.secret_key)) {
    throw bad('secret_key must be 32 bytes of base64url');
  }
  const secret = new Uint8Array(Buffer.from(s.secret_key, 'base64url'));
  if (secret.length !== 32) throw bad('secret_key must be 32 bytes of base64url');
  const key = importSecretKey(a, secret);
  secret.fill(0);
  const did = didKeyFromPublicKey(a, key.publicKey);
  if (s.did !== did) throw bad('did does not match the key');
  return { did, key };
}

/** Loads the gateway key from `dataDir`, creating it (and the dir, 0700) on first start. */
export function ensureGatewayKey(dataDir: string): GatewayIdentity {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, GATEWAY_KEY_FILE);
  if (existsSync(path)) return { ...loadKeyFile(path, 'Ed25519'), created: false, path };
  return { ...createKeyFile(path, 'Ed25519'), created: true, path };
}

/** Reads a key file (mode forced to 0600); `alg` given, it must hold that algorithm. */
export function loadKeyFile(path: string, alg?: KeyAlg): { did: string; key: KeyPair } {
  chmodSync(path, 0o600);
  return parseStored(path, readFileSync(path, 'utf8'), alg);
}

/** Creates a key file with a fresh key; refuses to overwrite one. */
export function createKeyFile(path: string, alg: KeyAlg): { did: string; key: KeyPair } {
  if (existsSync(path)) throw new GatewayKeyError(`${path} exists; refusing to overwrite a key`);
  const key = generateKey(alg);
  const did = didKeyFromPublicKey(alg, key.publicKey);
  const secret = exportSecretKey(key);
  const stored: StoredKey = { version: 1, alg, did, secret_key: Buffer.from(secret).toString('base64url') };
  secret.fill(0);
  // Write beside the target with 0600 from the start, then rename: a crash never leaves a
  // half-written key, and the secret is never in a file readable by others.
  const tmp = `${path}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
  return { did, key };
}
