import { Bonjour, type Service } from 'bonjour-service';
import { isDid } from '../identity/jws.js';

/**
 * A node agent announces itself on the LAN by DNS-SD (issue 6, part 2): a `_computemd._tcp`
 * service whose instance name is the agent's name, SRV port its own HTTP port (0 while it has
 * none), and TXT `did=`, `gateway=`, `v=1`. mDNS is done by bonjour-service.
 *
 * - Browsing reads what others send: every TXT value is untrusted. What does not parse is dropped
 *   (parseAnnouncement says why), never thrown.
 * - The instance name is probed first (RFC 6762 §8). When another host already holds it,
 *   bonjour-service logs that and stops announcing; the agent keeps working, only unannounced.
 */

export const SERVICE_TYPE = 'computemd';
export const TXT_VERSION = '1';
const NAME = /^[a-z0-9][a-z0-9-]{1,62}$/;
// A TXT string is at most 255 bytes, "gateway=" included.
const MAX_URL = 247;

export interface Announcement {
  /** The agent's name (the DNS-SD instance name). */
  name: string;
  did: string;
  /** The gateway URL the agent joined. */
  gateway: string;
  /** The agent's own HTTP port, or 0 when it has none yet. */
  port: number;
}

export interface DnssdOptions {
  /** IPv4 address of the interface to send and join multicast on; default: all of them. */
  interface?: string;
  /** mDNS socket errors; they never stop the agent. */
  log?: (line: string) => void;
}

/** What a browser heard, before validation. `txt` as bonjour-service decodes it: key → string. */
export interface HeardService {
  name: unknown;
  port: unknown;
  txt: unknown;
}

export type Parsed = { ok: true; announcement: Announcement } | { ok: false; reason: string };

export function toTxt(a: Announcement): Record<string, string> {
  return { did: a.did, gateway: a.gateway, v: TXT_VERSION };
}

function isGatewayUrl(s: string): boolean {
  if (s.length > MAX_URL || !URL.canParse(s)) return false;
  const u = new URL(s);
  // Credentials in an announced URL are never ours to follow.
  return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password;
}

/** Validates one heard service. TXT keys are case-insensitive (RFC 6763 §6.4). */
export function parseAnnouncement(s: HeardService): Parsed {
  const txt: Record<string, string> = {};
  if (typeof s.txt === 'object' && s.txt !== null) {
    for (const [k, v] of Object.entries(s.txt)) if (typeof v === 'string') txt[k.toLowerCase()] = v;
  }
  if (typeof s.name !== 'string' || !NAME.test(s.name))
    return { ok: false, reason: 'name is not an agent name' };
  if (txt.v !== TXT_VERSION) return { ok: false, reason: `unknown TXT version ${JSON.stringify(txt.v)}` };
  if (!isDid(txt.did)) return { ok: false, reason: 'did is not a DID' };
  if (txt.gateway === undefined || !isGatewayUrl(txt.gateway)) {
    return { ok: false, reason: 'gateway is not an http(s) URL' };
  }
  if (typeof s.port !== 'number' || !Number.isInteger(s.port) || s.port < 0 || s.port > 65535) {
    return { ok: false, reason: 'port is not a TCP port' };
  }
  return { ok: true, announcement: { name: s.name, did: txt.did, gateway: txt.gateway, port: s.port } };
}

/** The valid ones, one per name+did; a later one (a re-announcement) replaces an earlier one. */
export function collect(heard: HeardService[]): Announcement[] {
  const out = new Map<string, Announcement>();
  for (const h of heard) {
    const p = parseAnnouncement(h);
    if (p.ok) out.set(`${p.announcement.name} ${p.announcement.did}`, p.announcement);
  }
  return [...out.values()];
}

function open(o: DnssdOptions): Bonjour {
  // multicast-dns binds to `interface` when given, and a socket bound to a unicast address never
  // receives multicast on Linux: bind the wildcard, join and send on the interface. (The options
  // go to multicast-dns; bonjour-service's type for them is the service config's.)
  const opts: Record<string, string> = o.interface ? { interface: o.interface, bind: '0.0.0.0' } : {};
  return new Bonjour(opts, (err: Error) => o.log?.(`computemd dnssd: ${err.message}`));
}

export function announce(a: Announcement, o: DnssdOptions = {}): { stop(): Promise<void> } {
  const bonjour = open(o);
  // bonjour-service rejects port 0 in its config (a falsy check) though SRV allows it. Records are
  // built when the probe is done (a timer later), so the real port set here is what goes out.
  const service: Service = bonjour.publish({
    name: a.name,
    type: SERVICE_TYPE,
    port: a.port || 9,
    txt: toTxt(a),
    probe: true,
  });
  service.port = a.port;
  let stopping: Promise<void> | undefined;
  return {
    /** Sends the goodbye (TTL 0) and closes the socket. Idempotent. */
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        service.stop?.(() => bonjour.destroy(() => resolve()));
      });
      return stopping;
    },
  };
}

/** Everything heard within the timeout and not said goodbye to, valid, deduplicated by name+did. */
export function browse(o: DnssdOptions & { timeoutMs: number }): Promise<Announcement[]> {
  const bonjour = open(o);
  const browser = bonjour.find({ type: SERVICE_TYPE });
  // One query can be lost; ask again each second (responders rate-limit, RFC 6762 §6).
  const requery = setInterval(() => browser.update(), 1000);
  return new Promise((resolve) => {
    setTimeout(() => {
      clearInterval(requery);
      const heard = browser.services.map((s) => ({ name: s.name, port: s.port, txt: s.txt }));
      browser.stop();
      bonjour.destroy(() => resolve(collect(heard)));
    }, o.timeoutMs);
  });
}
