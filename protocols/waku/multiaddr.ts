/**
 * Multiaddr text (`/ip4/1.2.3.4/tcp/60000/p2p/16Uiu2…`) as nim-libp2p's
 * `MultiAddress.init` reads it, with its error messages, and the peer
 * addresses nwaku's `parsePeerInfo` accepts on top: a `/p2p/` peer id and a
 * TCP or WebSocket transport. Enough protocols for real nwaku peers (IP,
 * DNS, TCP/UDP, WebSocket, QUIC, WebTransport, circuit relay); each value is
 * checked as libp2p checks it when it encodes the address.
 *
 * @example
 * ```ts
 * parseMultiaddr("/dns4/node.example/tcp/443/wss"); // [{protocol:"dns4",value:"node.example"}, …]
 * peerAddrProblem("ip4/1.2.3.4"); // "MultiAddress.init [multiaddress: Invalid MultiAddress, must start with `/`]"
 * ```
 */
import { decodeBase58 } from "./base58.ts";

/** One protocol of a multiaddr, with its value when it takes one. */
export interface MultiaddrPart {
  protocol: string;
  value?: string;
}

type Check = (value: string) => boolean;

/** How a protocol's value is read: a fixed or length-prefixed value, the rest of the path, or none. */
type Kind = { kind: "value"; check: Check } | { kind: "path" } | { kind: "marker" };

const isPort: Check = (v) => /^\d{1,5}$/.test(v) && Number(v) <= 65535;
const nonEmpty: Check = (v) => v.length > 0;
const value = (check: Check): Kind => ({ kind: "value", check });
const MARKER: Kind = { kind: "marker" };

const PROTOCOLS = new Map<string, Kind>([
  ["ip4", value(isIp4)],
  ["ip6", value(isIp6)],
  ["ip6zone", value(nonEmpty)],
  ["dns", value(nonEmpty)],
  ["dns4", value(nonEmpty)],
  ["dns6", value(nonEmpty)],
  ["dnsaddr", value(nonEmpty)],
  ["sni", value(nonEmpty)],
  ["tcp", value(isPort)],
  ["udp", value(isPort)],
  ["dccp", value(isPort)],
  ["sctp", value(isPort)],
  ["p2p", value(isPeerId)],
  ["ipfs", value(isPeerId)],
  ["certhash", value(nonEmpty)],
  ["unix", { kind: "path" }],
  ...[
    "ws",
    "wss",
    "tls",
    "noise",
    "http",
    "https",
    "quic",
    "quic-v1",
    "webtransport",
    "webrtc",
    "webrtc-direct",
    "p2p-circuit",
    "p2p-websocket-star",
    "p2p-webrtc-star",
    "p2p-webrtc-direct",
    "utp",
    "udt",
  ].map((name): [string, Kind] => [name, MARKER]),
]);

/**
 * Reads a multiaddr's text: it starts with `/` (trailing slashes are
 * dropped), names known protocols, and gives each a valid value where one
 * is due. Throws SyntaxError with libp2p's message (`multiaddress: …`).
 */
export function parseMultiaddr(text: string): MultiaddrPart[] {
  const parts = text.replace(/\/+$/, "").split("/");
  if (parts[0] !== "") {
    throw new SyntaxError("multiaddress: Invalid MultiAddress, must start with `/`");
  }
  const out: MultiaddrPart[] = [];
  for (let i = 1; i < parts.length;) {
    const protocol = parts[i];
    const kind = PROTOCOLS.get(protocol);
    if (!kind) throw new SyntaxError(`multiaddress: Unsupported protocol '${protocol}'`);
    if (kind.kind === "marker") {
      out.push({ protocol });
      i++;
      continue;
    }
    if (i + 1 >= parts.length) {
      throw new SyntaxError(`multiaddress: Missing protocol '${protocol}' argument`);
    }
    const v = kind.kind === "path" ? "/" + parts.slice(i + 1).join("/") : parts[i + 1];
    if (kind.kind === "value" && !kind.check(v)) {
      throw new SyntaxError(`multiaddress: Error encoding \`${protocol}/${v}\``);
    }
    out.push({ protocol, value: v });
    i = kind.kind === "path" ? parts.length : i + 2;
  }
  return out;
}

/** The parts nwaku keeps to dial a peer (parsePeerInfoFromRegularAddr); the others are dropped. */
const WIRE = new Set(["ip4", "ip6", "dns", "dnsaddr", "dns4", "dns6", "tcp", "ws", "wss"]);
const HOST = new Set(["ip4", "ip6", "dns", "dnsaddr", "dns4", "dns6"]);

/** nwaku's form of a circuit-relay address, matched whole as it matches it. */
const CIRCUIT =
  /^\/(ip4|ip6|dns|dnsaddr|dns4|dns6)\/[0-9a-fA-F:.]+\/(tcp|ws|wss)\/\d+\/p2p\/(.+)\/p2p-circuit\/p2p\/(.+)$/;

/**
 * What nwaku's parsePeerInfo finds wrong with a store peer's address, in its
 * words (the REST answer prefixes `Failed parsing remote peer info: `), or
 * undefined when nwaku would dial it.
 */
export function peerAddrProblem(text: string): string | undefined {
  let parts;
  try {
    parts = parseMultiaddr(text);
  } catch (e) {
    return `MultiAddress.init [${(e as Error).message}]`;
  }
  if (text.includes("p2p-circuit")) {
    return CIRCUIT.test(text) ? undefined : `failed to parse ma: ${text}`;
  }
  if (!parts.some((p) => p.protocol === "p2p" || p.protocol === "ipfs")) {
    return `Error in parsePeerInfo: p2p part should contain / [p2pPartStr:] [peer:${text}]`;
  }
  const wire = parts.filter((p) => WIRE.has(p.protocol)).map((p) => p.protocol);
  const tcp = wire.length >= 2 && HOST.has(wire[0]) && wire[1] === "tcp";
  const ws = wire.length === 3 && (wire[2] === "ws" || wire[2] === "wss");
  if (!tcp || (wire.length !== 2 && !ws)) {
    return "invalid multiaddress: no supported transport found";
  }
  return undefined;
}

/** Dotted-quad IPv4, each of the four numbers at most 255. */
function isIp4(v: string): boolean {
  const octets = v.split(".");
  return octets.length === 4 && octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255);
}

/** IPv6 text: eight groups of 1–4 hex digits, `::` once for a run of zeros, an IPv4 tail allowed. */
function isIp6(v: string): boolean {
  const halves = v.split("::");
  if (halves.length > 2) return false;
  const groups = (half: string) => half === "" ? [] : half.split(":");
  const all = halves.flatMap(groups);
  const last = all.at(-1);
  const ip4Tail = last !== undefined && last.includes(".");
  if (ip4Tail && !isIp4(all.pop()!)) return false;
  const count = all.length + (ip4Tail ? 2 : 0);
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  return halves.length === 2 ? count <= 7 : count === 8;
}

/** A base58btc peer id whose bytes are a multihash (identity or sha2-256), as libp2p requires. */
function isPeerId(v: string): boolean {
  let bytes;
  try {
    bytes = decodeBase58(v);
  } catch {
    return false;
  }
  const [code, length, digest] = [bytes[0], bytes[1], bytes.length - 2];
  if (bytes.length < 2 || length >= 0x80) return false;
  return (code === 0x00 && digest === length) || (code === 0x12 && length === 32 && digest === 32);
}
