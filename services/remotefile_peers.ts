/**
 * Where the gateway may open RemoteFile connections, and where it listens:
 * `host:port` text and the allow-list of peers (SYNCGATE_REMOTEFILE_PEERS).
 *
 * `POST /remotefile/connections` makes the gateway dial out on a user's
 * word, so by default it may dial only loopback TCP (127.0.0.0/8, ::1,
 * localhost: APX nodes and servers on the same host, the common bench
 * set-up) and nothing else; no unix socket. A list replaces that default
 * entirely. Entries, comma-separated:
 * - `host:port`, `host:*` (any port of that host; `[v6]:port` for IPv6)
 * - `unix:/path/to.sock`
 * - `loopback` (the default rule, to keep it beside others), `*` (anything)
 * Hosts compare as written, case-insensitively: no name is resolved, so a
 * name that resolves to a private address is not allowed by an address rule.
 *
 * @example
 * ```ts
 * const rules = parsePeerList("10.0.0.5:5000, ecu.local:*, unix:/run/apx.sock");
 * peerAllowed(rules, { transport: "tcp", hostname: "10.0.0.5", port: 5000 }); // true
 * peerAllowed([], { transport: "tcp", hostname: "127.0.0.1", port: 5000 });  // true (loopback)
 * ```
 */
import type { PeerAddress } from "./peer_connection.ts";

/** One allow-list entry. */
export type PeerRule =
  | { kind: "tcp"; host: string; port: number | "*" }
  | { kind: "unix"; path: string }
  | { kind: "loopback" }
  | { kind: "any" };

/** Parses `host:port` (`[v6]:port`); `allowAnyPort` takes `host:*`. Throws RangeError. */
export function parseHostPort(
  text: string,
  allowAnyPort = false,
): { host: string; port: number | "*" } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s[\]]+)):(\d{1,5}|\*)$/.exec(text.trim());
  if (!m) throw new RangeError(`"${text}" is not host:port`);
  const host = (m[1] ?? m[2]).toLowerCase();
  if (m[3] === "*") {
    if (!allowAnyPort) throw new RangeError(`"${text}" needs a port number`);
    return { host, port: "*" };
  }
  const port = Number(m[3]);
  if (port > 65535) throw new RangeError(`"${text}" has port ${port}, above 65535`);
  return { host, port };
}

/** Parses the allow-list text; empty = the loopback default. Throws RangeError naming the entry. */
export function parsePeerList(text: string): PeerRule[] {
  const rules: PeerRule[] = [];
  for (const raw of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    if (raw === "*") rules.push({ kind: "any" });
    else if (raw === "loopback") rules.push({ kind: "loopback" });
    else if (raw.startsWith("unix:")) {
      const path = raw.slice(5);
      if (!path.startsWith("/")) throw new RangeError(`"${raw}" needs an absolute socket path`);
      rules.push({ kind: "unix", path });
    } else rules.push({ kind: "tcp", ...parseHostPort(raw, true) });
  }
  return rules.length ? rules : [{ kind: "loopback" }];
}

/** Whether a host is loopback by its text: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Whether the rules let the gateway connect to `address` (no rules: the loopback default). */
export function peerAllowed(rules: readonly PeerRule[], address: PeerAddress): boolean {
  const list = rules.length ? rules : [{ kind: "loopback" } as const];
  return list.some((r) => {
    switch (r.kind) {
      case "any":
        return true;
      case "loopback":
        return address.transport === "tcp" && isLoopbackHost(address.hostname);
      case "unix":
        return address.transport === "unix" && address.path === r.path;
      case "tcp":
        return address.transport === "tcp" && address.hostname.toLowerCase() === r.host &&
          (r.port === "*" || r.port === address.port);
    }
  });
}
