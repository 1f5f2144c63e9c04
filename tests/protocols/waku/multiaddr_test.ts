/**
 * Multiaddr text as nim-libp2p reads it, and peer addresses as nwaku's
 * parsePeerInfo accepts them (cases from nwaku's tests/waku_core/test_peers.nim).
 */
import assert from "node:assert/strict";
import { decodeBase58 } from "../../../protocols/waku/base58.ts";
import { parseMultiaddr, peerAddrProblem } from "../../../protocols/waku/multiaddr.ts";

const SECP = "16Uiu2HAmVFXtAfSj4EiR7mL2KvL4EE2wztuQgUSBoj2Jx2KeXFLN";
const ED25519 = "12D3KooWLyTCx9j2FMcsHe81RMoDfhXbdyyFgNGQMdcrnhShTvQh";
const SHA256 = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";
// nwaku's own test peer id, accepted by its parser.
const NWAKU_TEST = "16Uuu2HBmAcHvhLqQKwSSbX6BG5JLWUDRcaLVrehUVqpw7fz1hbYc";

Deno.test("real nwaku peer addresses are accepted", () => {
  for (
    const addr of [
      `/ip4/127.0.0.1/tcp/60001/p2p/${SECP}`,
      `/ip4/127.0.0.1/tcp/65002/p2p/${NWAKU_TEST}`,
      `/dns4/node-01.do-ams3.waku.sandbox.status.im/tcp/30303/p2p/${SECP}`,
      `/dns4/node-01.do-ams3.waku.sandbox.status.im/tcp/8000/wss/p2p/${SECP}`,
      `/dns/localhost/tcp/65012/p2p/${NWAKU_TEST}`,
      `/dnsaddr/localhost/tcp/65022/p2p/${NWAKU_TEST}`,
      `/dns6/localhost/tcp/65042/p2p/${NWAKU_TEST}`,
      `/ip6/::1/tcp/60000/ws/p2p/${ED25519}`,
      `/ip6/2001:db8::ff00:42:8329/tcp/1/p2p/${SHA256}`,
      `/ip4/1.2.3.4/tcp/60000/tls/sni/x.example/ws/p2p/${SECP}`,
      `/ip4/162.19.247.156/tcp/60010/p2p/${SECP}/p2p-circuit/p2p/${ED25519}`,
      `/ip4/127.0.0.1/tcp/60001/p2p/${SECP}/`,
    ]
  ) {
    assert.equal(peerAddrProblem(addr), undefined, addr);
  }
});

Deno.test("multiaddrs that are valid but not dialable by nwaku say why, in its words", () => {
  assert.equal(
    peerAddrProblem("/ip4/127.0.0.1/tcp/65092"),
    "Error in parsePeerInfo: p2p part should contain / [p2pPartStr:] [peer:/ip4/127.0.0.1/tcp/65092]",
  );
  for (
    const addr of [
      `/ip4/127.0.0.1/udp/65102/p2p/${NWAKU_TEST}`,
      `/ip4/1.2.3.4/udp/60000/quic-v1/p2p/${SECP}`,
      `/p2p/${SECP}`,
    ]
  ) {
    assert.equal(peerAddrProblem(addr), "invalid multiaddress: no supported transport found", addr);
  }
  assert.match(
    peerAddrProblem(`/dns4/relay.example/tcp/1/p2p/${SECP}/p2p-circuit/p2p/${ED25519}`)!,
    /^failed to parse ma: /,
    "nwaku's circuit pattern takes IP-like hosts only",
  );
});

Deno.test("libp2p's syntax errors, in its words", () => {
  const init = (m: string) => `MultiAddress.init [multiaddress: ${m}]`;
  assert.equal(
    peerAddrProblem("incorrect multi address format"),
    init("Invalid MultiAddress, must start with `/`"),
  );
  assert.equal(
    peerAddrProblem(` /ip4/127.0.0.1/tcp/1/p2p/${SECP}`),
    init(
      "Invalid MultiAddress, must start with `/`",
    ),
  );
  assert.equal(peerAddrProblem("/ip9/1.2.3.4"), init("Unsupported protocol 'ip9'"));
  assert.equal(peerAddrProblem("/ip4"), init("Missing protocol 'ip4' argument"));
  assert.equal(
    peerAddrProblem(`/ip4/127.0.0.0.1/tcp/65082/p2p/${NWAKU_TEST}`),
    init("Error encoding `ip4/127.0.0.0.1`"),
  );
  assert.equal(peerAddrProblem("/ip4/1.2.3.4/tcp/65536"), init("Error encoding `tcp/65536`"));
  assert.equal(peerAddrProblem("/p2p/$UCH GIBBER!SH"), init("Error encoding `p2p/$UCH GIBBER!SH`"));
  assert.equal(
    peerAddrProblem(`/ip4/1.2.3.4/tcp/1/p2p/${SECP}0`),
    init(
      `Error encoding \`p2p/${SECP}0\``,
    ),
  );
  assert.equal(
    peerAddrProblem(`/ip4/127.0.0.1/tcp/65072/p2p/${NWAKU_TEST} `),
    init(`Error encoding \`p2p/${NWAKU_TEST} \``),
    "trailing whitespace",
  );
  assert.equal(peerAddrProblem("/constructor/x"), init("Unsupported protocol 'constructor'"));
});

Deno.test("parseMultiaddr gives each protocol its value; unix takes the rest of the path", () => {
  assert.deepEqual(parseMultiaddr("/ip6/fe80::1/udp/9/quic-v1"), [
    { protocol: "ip6", value: "fe80::1" },
    { protocol: "udp", value: "9" },
    { protocol: "quic-v1" },
  ]);
  assert.deepEqual(parseMultiaddr("/unix/tmp/p2p.sock"), [
    { protocol: "unix", value: "/tmp/p2p.sock" },
  ]);
  for (const bad of ["/ip6/1:2:3:4:5:6:7:8:9", "/ip6/1::2::3", "/ip6/g::1", "/ip4/256.1.1.1"]) {
    assert.throws(() => parseMultiaddr(bad), SyntaxError, bad);
  }
  assert.deepEqual(parseMultiaddr("/ip6/::ffff:1.2.3.4")[0].value, "::ffff:1.2.3.4");
});

Deno.test("base58 decodes leading 1s as zero bytes and refuses other alphabets", () => {
  assert.deepEqual(decodeBase58("1"), new Uint8Array([0]));
  assert.deepEqual(decodeBase58("11z"), new Uint8Array([0, 0, 57]));
  assert.deepEqual(decodeBase58("5Q"), new Uint8Array([255]));
  assert.deepEqual(decodeBase58("5R"), new Uint8Array([1, 0]));
  assert.equal(decodeBase58(SHA256).length, 34);
  for (const bad of ["", "0", "O", "I", "l", "x".repeat(129)]) {
    assert.throws(() => decodeBase58(bad), SyntaxError, bad);
  }
});
