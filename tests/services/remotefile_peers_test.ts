import assert from "node:assert/strict";
import {
  isLoopbackHost,
  parseHostPort,
  parsePeerList,
  peerAllowed,
} from "../../services/remotefile_peers.ts";

const tcp = (hostname: string, port: number) => ({ transport: "tcp" as const, hostname, port });

Deno.test("remotefile peers: the default allows loopback TCP only", () => {
  const rules = parsePeerList("");
  assert.deepEqual(rules, [{ kind: "loopback" }]);
  for (const h of ["127.0.0.1", "127.8.9.10", "::1", "localhost", "LOCALHOST"]) {
    assert.ok(peerAllowed(rules, tcp(h, 5000)), h);
  }
  for (
    const h of ["10.0.0.1", "0.0.0.0", "127.0.0.1.evil.example", "::ffff:7f00:1", "example.com"]
  ) {
    assert.ok(!peerAllowed(rules, tcp(h, 5000)), h);
  }
  assert.ok(!peerAllowed(rules, { transport: "unix", path: "/run/docker.sock" }));
  assert.ok(isLoopbackHost("127.0.0.1") && !isLoopbackHost("128.0.0.1"));
});

Deno.test("remotefile peers: a list replaces the default; host:port, host:*, unix:, loopback, *", () => {
  const rules = parsePeerList(" 10.0.0.5:5000, ECU.local:*, unix:/run/apx.sock, [fe80::1]:7 ");
  assert.ok(peerAllowed(rules, tcp("10.0.0.5", 5000)));
  assert.ok(!peerAllowed(rules, tcp("10.0.0.5", 5001)));
  assert.ok(peerAllowed(rules, tcp("ecu.local", 1)));
  assert.ok(peerAllowed(rules, tcp("fe80::1", 7)));
  assert.ok(peerAllowed(rules, { transport: "unix", path: "/run/apx.sock" }));
  assert.ok(!peerAllowed(rules, { transport: "unix", path: "/run/other.sock" }));
  assert.ok(!peerAllowed(rules, tcp("127.0.0.1", 5000)), "loopback is not implied by a list");
  assert.ok(peerAllowed(parsePeerList("loopback,10.0.0.5:1"), tcp("127.0.0.1", 9)));
  assert.ok(peerAllowed(parsePeerList("*"), tcp("203.0.113.9", 9)));
});

Deno.test("remotefile peers: malformed entries are refused with the entry quoted", () => {
  assert.throws(() => parsePeerList("10.0.0.5"), /"10.0.0.5" is not host:port/);
  assert.throws(() => parsePeerList("h:70000"), /above 65535/);
  assert.throws(() => parsePeerList("unix:relative.sock"), /absolute/);
  assert.throws(() => parseHostPort("h:*"), /needs a port number/);
  assert.deepEqual(parseHostPort("[::1]:5000"), { host: "::1", port: 5000 });
});
