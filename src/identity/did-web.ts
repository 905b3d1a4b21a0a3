import { parseMultibaseKey } from './did-key.js';
import { type KeyAlg, publicKeyFromJwk } from './keys.js';

/**
 * did:web (W3C CCG did:web Method Specification): `did:web:<host>[%3A<port>](:<path>)*`.
 * `did:web:example.com` → `https://example.com/.well-known/did.json`;
 * `did:web:example.com:user:alice` → `https://example.com/user/alice/did.json`.
 * The resolver fetches, validates, caches for `ttlMs`, and shares one in-flight fetch per DID.
 */
export type DidWebErrorCode = 'bad_did' | 'fetch_failed' | 'bad_document';

export class DidWebError extends Error {
  override readonly name = 'DidWebError';
  constructor(
    readonly code: DidWebErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface VerificationMethod {
  id: string;
  type: string;
  controller: string;
  publicKeyMultibase?: string;
  publicKeyJwk?: Record<string, unknown>;
}

export interface DidDocument {
  id: string;
  verificationMethod: VerificationMethod[];
  [k: string]: unknown;
}

const HOST_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
const SEGMENT = /^(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+$/;

export interface DidWebUrlOptions {
  /** Tests only: build an `http:` URL instead of `https:`. */
  insecureHttp?: boolean;
}

export function didWebToUrl(did: string, opts: DidWebUrlOptions = {}): string {
  if (typeof did !== 'string' || !did.startsWith('did:web:')) {
    throw new DidWebError('bad_did', "not a did:web (must start with 'did:web:')");
  }
  const [hostPart, ...path] = did.slice('did:web:'.length).split(':');
  if (!hostPart) throw new DidWebError('bad_did', 'did:web has no domain');
  const m = /^([^%]+)(?:%3[Aa]([0-9]{1,5}))?$/.exec(hostPart);
  const host = m?.[1] ?? '';
  const port = m?.[2];
  if (!m || !host.split('.').every((l) => HOST_LABEL.test(l))) {
    throw new DidWebError('bad_did', `did:web domain is not a valid host name: ${hostPart}`);
  }
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    throw new DidWebError('bad_did', `did:web port out of range: ${port}`);
  }
  for (const seg of path) {
    if (!SEGMENT.test(seg) || seg === '.' || seg === '..' || /%2[Ff]/.test(seg)) {
      throw new DidWebError('bad_did', `did:web path segment is not allowed: '${seg}'`);
    }
  }
  const scheme = opts.insecureHttp ? 'http' : 'https';
  const authority = port === undefined ? host.toLowerCase() : `${host.toLowerCase()}:${port}`;
  const pathname = path.length === 0 ? '/.well-known/did.json' : `/${path.join('/')}/did.json`;
  return `${scheme}://${authority}${pathname}`;
}

function validateDocument(did: string, body: unknown): DidDocument {
  const bad = (why: string) => new DidWebError('bad_document', `DID document for ${did}: ${why}`);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('not a JSON object');
  const doc = body as Record<string, unknown>;
  if (doc.id !== did) throw bad(`id ${JSON.stringify(doc.id)} does not equal the DID`);
  const vms = doc.verificationMethod;
  if (!Array.isArray(vms) || vms.length === 0) throw bad('verificationMethod must be a non-empty array');
  vms.forEach((vm: unknown, i) => {
    if (typeof vm !== 'object' || vm === null) throw bad(`verificationMethod[${i}] is not an object`);
    const v = vm as Record<string, unknown>;
    for (const f of ['id', 'type', 'controller'] as const) {
      if (typeof v[f] !== 'string' || v[f] === '') throw bad(`verificationMethod[${i}].${f} is missing`);
    }
    const hasMb = v.publicKeyMultibase !== undefined;
    const hasJwk = v.publicKeyJwk !== undefined;
    if (hasMb === hasJwk) {
      throw bad(`verificationMethod[${i}] needs exactly one of publicKeyMultibase or publicKeyJwk`);
    }
    try {
      if (hasMb) parseMultibaseKey(v.publicKeyMultibase as string);
      else publicKeyFromJwk(v.publicKeyJwk);
    } catch (e) {
      throw bad(`verificationMethod[${i}] key: ${(e as Error).message}`);
    }
    if ('privateKeyJwk' in v || 'privateKeyMultibase' in v) {
      throw bad(`verificationMethod[${i}] carries a private key`);
    }
  });
  return deepFreeze(doc) as DidDocument;
}

/** Cached documents are shared between callers, so they are frozen. */
function deepFreeze<T>(x: T): T {
  if (typeof x === 'object' && x !== null && !Object.isFrozen(x)) {
    Object.freeze(x);
    for (const v of Object.values(x)) deepFreeze(v);
  }
  return x;
}

/** The verification method's public key, `{alg, publicKey}` (compressed for EC keys). */
export function verificationMethodKey(vm: VerificationMethod): { alg: KeyAlg; publicKey: Uint8Array } {
  if (vm.publicKeyMultibase !== undefined) return parseMultibaseKey(vm.publicKeyMultibase);
  return publicKeyFromJwk(vm.publicKeyJwk);
}

export interface FetchResponseLike {
  ok: boolean;
  status: number;
  text(): Promise<string>;
}
export type FetchLike = (
  url: string,
  init: { signal: AbortSignal; redirect: 'error'; headers: Record<string, string> },
) => Promise<FetchResponseLike>;

export interface DidWebResolverOptions {
  /** Defaults to the global `fetch`. */
  fetch?: FetchLike;
  /** Milliseconds since the epoch; defaults to `Date.now`. */
  clock?: () => number;
  /** How long a resolved document is served from cache. Default 5 minutes. */
  ttlMs?: number;
  /** Per-fetch timeout. Default 10 s. */
  timeoutMs?: number;
  /** Largest accepted document body, in characters. Default 256 KiB. */
  maxBytes?: number;
  /** Tests only: resolve over `http:`. */
  insecureHttp?: boolean;
}

export interface DidWebResolver {
  resolve(did: string): Promise<DidDocument>;
  /** Drops one DID (or all) from the cache. */
  invalidate(did?: string): void;
}

export function createDidWebResolver(opts: DidWebResolverOptions = {}): DidWebResolver {
  const doFetch: FetchLike = opts.fetch ?? ((url, init) => globalThis.fetch(url, init));
  const clock = opts.clock ?? Date.now;
  const ttlMs = opts.ttlMs ?? 5 * 60_000;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxBytes = opts.maxBytes ?? 256 * 1024;
  const cache = new Map<string, { doc: DidDocument; expiresAt: number }>();
  const inflight = new Map<string, Promise<DidDocument>>();

  async function load(did: string, url: string): Promise<DidDocument> {
    let res: FetchResponseLike;
    let text: string;
    try {
      res = await doFetch(url, {
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
        headers: { accept: 'application/did+json, application/json' },
      });
      if (!res.ok) throw new DidWebError('fetch_failed', `GET ${url} answered ${res.status}`);
      text = await res.text();
    } catch (e) {
      if (e instanceof DidWebError) throw e;
      throw new DidWebError('fetch_failed', `GET ${url} failed: ${(e as Error).message}`);
    }
    if (text.length > maxBytes) {
      throw new DidWebError('bad_document', `DID document for ${did} is larger than ${maxBytes} bytes`);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new DidWebError('bad_document', `DID document for ${did} is not JSON`);
    }
    const doc = validateDocument(did, body);
    cache.set(did, { doc, expiresAt: clock() + ttlMs });
    return doc;
  }

  return {
    resolve(did) {
      let url: string;
      try {
        url = didWebToUrl(did, { insecureHttp: opts.insecureHttp });
      } catch (e) {
        return Promise.reject(e);
      }
      const hit = cache.get(did);
      if (hit && clock() < hit.expiresAt) return Promise.resolve(hit.doc);
      if (hit) cache.delete(did);
      const pending = inflight.get(did);
      if (pending) return pending;
      const p = load(did, url).finally(() => inflight.delete(did));
      inflight.set(did, p);
      return p;
    },
    invalidate(did) {
      if (did === undefined) cache.clear();
      else cache.delete(did);
    },
  };
}
