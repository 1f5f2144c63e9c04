import assert from "node:assert/strict";
import { parseRequestHead, type RequestHead } from "../../../protocols/http1/request_head.ts";
import {
  type HeadReadResult,
  RequestHeadReader,
} from "../../../protocols/http1/request_head_reader.ts";
import { fuzzMutated, fuzzRandom, fuzzSeed, Rng, utf8 } from "../waku/fuzz_util.ts";

const LIMITS = { maxUrlBytes: 64, maxHeaderBytes: 256, maxHeaderCount: 8 };
const dec = new TextDecoder();

function read(text: string | Uint8Array, strip?: string): HeadReadResult {
  return new RequestHeadReader(LIMITS, strip).push(typeof text === "string" ? utf8(text) : text);
}

function head(text: string, strip?: string): RequestHead {
  const r = read(text, strip);
  if (r.kind !== "head") throw new Error(`Expected a head, got ${JSON.stringify(r)}`);
  return r.head;
}

function status(text: string): number | "more" | "head" {
  const r = read(text);
  return r.kind === "error" ? r.error.status : r.kind;
}

Deno.test("request head: line, framing, keep-alive and the bytes after it", () => {
  const r = read("POST /a?b=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET");
  assert.equal(r.kind, "head");
  if (r.kind !== "head") return;
  assert.equal(r.head.method, "POST");
  assert.equal(r.head.target, "/a?b=1");
  assert.equal(r.head.minor, 1);
  assert.deepEqual(r.head.body, { kind: "length", length: 5 });
  assert.equal(r.head.keepAlive, true);
  assert.equal(dec.decode(r.rest), "helloGET");
  assert.equal(dec.decode(r.raw), "POST /a?b=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n");

  assert.deepEqual(head("GET / HTTP/1.1\r\n\r\n").body, { kind: "none" });
  assert.deepEqual(head("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").body, { kind: "none" });
  assert.deepEqual(head("POST / HTTP/1.1\r\ntransfer-encoding: Chunked\r\n\r\n").body, {
    kind: "chunked",
  });
  assert.equal(head("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n").keepAlive, false);
  assert.equal(head("GET / HTTP/1.0\r\n\r\n").keepAlive, false);
  assert.equal(head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keepAlive, true);
  assert.equal(head("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n").upgrade, true);
  assert.equal(head("CONNECT a:443 HTTP/1.1\r\n\r\n").upgrade, true);
  assert.equal(head("GET / HTTP/1.1\r\n\r\n").upgrade, false);
});

Deno.test("request head: field lines to strip are located", () => {
  const text = "GET / HTTP/1.1\r\nA: 1\r\nX-Client: spoof\r\nB: 2\r\nx-client:again\r\n\r\n";
  const h = head(text, "x-client");
  const b = utf8(text);
  assert.equal(h.stripped.length, 4);
  assert.equal(dec.decode(b.subarray(h.stripped[0], h.stripped[1])), "X-Client: spoof\r\n");
  assert.equal(dec.decode(b.subarray(h.stripped[2], h.stripped[3])), "x-client:again\r\n");
});

Deno.test("request head: refusals and their statuses", () => {
  const cases: [string, number | "more"][] = [
    ["GET / HTTP/1.1\r\nHost: x\r\n", "more"],
    ["GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nContent-Length: 9999999999999999\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501],
    ["GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 501],
    ["GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nA: 1\r\n folded\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nA : 1\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nA: 1\n\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nA: x\0y\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\n: empty\r\n\r\n", 400],
    ["GET /  HTTP/1.1\r\n\r\n", 400],
    ["GET / HTTP/1.1 \r\n\r\n", 400],
    ["GET\t/ HTTP/1.1\r\n\r\n", 400],
    ["GET / HTTQ/1.1\r\n\r\n", 400],
    ["GET / HTTP/2.0\r\n\r\n", 505],
    ["PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505],
    ["\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400],
    [`GET /${"a".repeat(64)} HTTP/1.1\r\n\r\n`, 414],
    [`GET /${"a".repeat(80)}`, 414],
    [`GET / HTTP/1.1\r\nA: ${"a".repeat(300)}`, 431],
    [`GET / HTTP/1.1\r\n${"A: 1\r\n".repeat(9)}\r\n`, 431],
    [`${"G".repeat(33)}`, 400],
  ];
  for (const [text, want] of cases) assert.equal(status(text), want, JSON.stringify(text));
  assert.equal(status(`GET /${"a".repeat(63)} HTTP/1.1\r\n\r\n`), "head");
  assert.equal(status(`GET / HTTP/1.1\r\n${"A: 1\r\n".repeat(8)}\r\n`), "head");
});

Deno.test("request head reader: a head trickled byte by byte is the same head", () => {
  const text = "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET";
  const r = new RequestHeadReader(LIMITS);
  const bytes = utf8(text);
  let result: HeadReadResult = { kind: "more" };
  let i = 0;
  for (; i < bytes.length && result.kind === "more"; i++) result = r.push(bytes.subarray(i, i + 1));
  assert.equal(result.kind, "head");
  assert.equal(i, text.indexOf("abc"));
  assert.equal(r.buffered, 0);
});

/** A comparable summary of a result. */
function summary(r: HeadReadResult): unknown {
  if (r.kind === "more") return "more";
  if (r.kind === "error") return "error";
  return { head: r.head, raw: dec.decode(r.raw), rest: dec.decode(r.rest) };
}

/** Feeds `bytes` in random pieces; returns the first result other than "more" and what followed it. */
function pushInPieces(rng: Rng, bytes: Uint8Array, strip?: string): HeadReadResult {
  const r = new RequestHeadReader(LIMITS, strip);
  let pos = 0;
  while (pos < bytes.length) {
    const n = 1 + rng.int(Math.min(40, bytes.length - pos));
    const res = r.push(bytes.slice(pos, pos + n));
    pos += n;
    if (res.kind === "error") return res;
    if (res.kind === "head") {
      const rest = new Uint8Array([...res.rest, ...bytes.subarray(pos)]);
      return { ...res, rest };
    }
  }
  return { kind: "more" };
}

function validHead(rng: Rng): Uint8Array {
  const method = rng.pick(["GET", "POST", "HEAD", "PUT", "CONNECT", "M-SEARCH"]);
  let text = `${method} /${rng.string(10).replace(/[^a-z0-9/]/g, "")} HTTP/1.${rng.int(2)}\r\n`;
  const names = ["Host", "Content-Length", "Transfer-Encoding", "Connection", "Upgrade", "X-C"];
  for (let i = rng.int(6); i > 0; i--) {
    const name = rng.pick(names);
    const value = name === "Content-Length"
      ? String(rng.int(1000))
      : name === "Transfer-Encoding"
      ? rng.pick(["chunked", "gzip"])
      : name === "Connection"
      ? rng.pick(["close", "keep-alive", "upgrade"])
      : rng.pick(["a", "b c", "\t x \t"]);
    text += `${name}:${rng.pick(["", " "])}${value}\r\n`;
  }
  return utf8(text + "\r\n" + rng.pick(["", "body", "GET / HTTP/1.1\r\n\r\n"]));
}

Deno.test("fuzz: request head reader never throws and reads the same in any pieces", () => {
  const seed = fuzzSeed(0x4851);
  const rng = new Rng(seed);
  const check = (bytes: Uint8Array, s: number, i: number) => {
    const whole = read(bytes, "x-c");
    const pieces = pushInPieces(rng, bytes, "x-c");
    const msg = `seed ${s} iteration ${i}: ${JSON.stringify(dec.decode(bytes))}`;
    if (whole.kind === "head" || pieces.kind === "head") {
      assert.deepEqual(summary(pieces), summary(whole), msg);
      if (whole.kind === "head") {
        assert.equal(whole.raw.length, whole.head.length, msg);
        assert.ok(whole.head.length <= bytes.length, msg);
      }
    } else {
      assert.equal(pieces.kind, whole.kind, msg);
    }
  };
  fuzzRandom(seed, 3000, 200, check);
  fuzzMutated(seed, 5000, validHead, check);
});

Deno.test("fuzz: an accepted head parses the same when re-parsed on its own bytes", () => {
  fuzzMutated(0x4852, 5000, validHead, (bytes, seed, i) => {
    const r = read(bytes);
    if (r.kind !== "head") return;
    const again = parseRequestHead(r.raw, r.raw.length, LIMITS);
    assert.deepEqual(again, r.head, `seed ${seed} iteration ${i}`);
    // What is accepted is plain: CRLF line ends, no bare CR or LF, one framing.
    const text = dec.decode(r.raw);
    assert.ok(!/[^\r]\n|\r[^\n]/.test(text), `seed ${seed} iteration ${i}`);
  });
});
