/**
 * Header rules of the proxy, on flat [name, value, name, value…] lists (Node's `rawHeaders` and
 * undici's raw response headers), so no object is built per request.
 *
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection and never cross the proxy, in
 * either direction, nor do the headers a `Connection` header names. The gateway's own credentials
 * (`Authorization`, `ucans`) stop here too: an endpoint is someone else's machine.
 */

export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Request headers the proxy sets itself or never forwards (besides hop-by-hop ones). */
const REQUEST_DROPPED: ReadonlySet<string> = new Set([
  'host',
  'authorization',
  'ucans',
  'x-request-id',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  // Node answers `100-continue` itself; undici refuses to send the header.
  'expect',
]);

/** Extra names a `Connection` header lists (besides close / keep-alive), lowercased; null when none. */
export function connectionNamed(value: string | undefined): Set<string> | null {
  if (!value) return null;
  // The usual value, from every keep-alive upstream: nothing to split.
  if (value.length <= 10) {
    const v = value.toLowerCase();
    if (v === 'keep-alive' || v === 'close') return null;
  }
  let out: Set<string> | null = null;
  for (const raw of value.split(',')) {
    const t = raw.trim().toLowerCase();
    if (t === '' || t === 'close' || t === 'keep-alive') continue;
    out ??= new Set();
    out.add(t);
  }
  return out;
}

export interface ForwardInfo {
  requestId: string;
  /** The client's address, appended to X-Forwarded-For. */
  clientIp: string | undefined;
  proto: 'http' | 'https';
  /** Headers the endpoint's spec adds (its own credential); they replace the client's of the same name. */
  extra: readonly string[];
}

/** The headers sent upstream for a client request's raw headers. */
export function upstreamRequestHeaders(raw: readonly string[], info: ForwardInfo): string[] {
  let named: Set<string> | null = null;
  let forwardedFor: string | null = null;
  let host: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!.toLowerCase();
    if (n === 'connection') named = connectionNamed(raw[i + 1]);
    else if (n === 'x-forwarded-for')
      forwardedFor = forwardedFor ? `${forwardedFor}, ${raw[i + 1]}` : raw[i + 1]!;
    else if (n === 'host' || n === ':authority') host = raw[i + 1]!;
  }
  const extraNames = info.extra.length > 0 ? new Set<string>() : null;
  for (let i = 0; i < info.extra.length; i += 2) extraNames?.add(info.extra[i]!.toLowerCase());
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === 58 /* ':' HTTP/2 pseudo-header */) continue;
    const n = name.toLowerCase();
    if (HOP_BY_HOP.has(n) || REQUEST_DROPPED.has(n) || named?.has(n) || extraNames?.has(n)) continue;
    out.push(name, raw[i + 1]!);
  }
  const ip = info.clientIp;
  out.push('x-request-id', info.requestId);
  if (ip || forwardedFor)
    out.push('x-forwarded-for', forwardedFor && ip ? `${forwardedFor}, ${ip}` : (ip ?? forwardedFor)!);
  out.push('x-forwarded-proto', info.proto);
  if (host) out.push('x-forwarded-host', host);
  for (const h of info.extra) out.push(h);
  return out;
}

/** The headers sent to the client for an upstream's raw response headers (undici gives Buffers). */
export function clientResponseHeaders(raw: readonly (Buffer | string)[], requestId: string): string[] {
  const str = (x: Buffer | string) => (typeof x === 'string' ? x : x.toString('latin1'));
  // One pass; a `Connection` header (rare in responses) filters what was already kept afterwards.
  let named: Set<string> | null = null;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = str(raw[i]!);
    const n = name.toLowerCase();
    if (n === 'connection') named = connectionNamed(str(raw[i + 1]!));
    if (HOP_BY_HOP.has(n) || n === 'x-request-id') continue;
    out.push(name, str(raw[i + 1]!));
  }
  if (named) {
    const kept: string[] = [];
    for (let i = 0; i < out.length; i += 2)
      if (!named.has(out[i]!.toLowerCase())) kept.push(out[i]!, out[i + 1]!);
    kept.push('x-request-id', requestId);
    return kept;
  }
  out.push('x-request-id', requestId);
  return out;
}

/** A client-sent request id is kept when it is short and printable; otherwise a fresh one is used. */
export function acceptableRequestId(v: string | string[] | undefined): string | null {
  if (typeof v !== 'string' || v.length === 0 || v.length > 200) return null;
  return /^[\x21-\x7e]+$/.test(v) ? v : null;
}
