import assert from "node:assert/strict";
import {
  parseResponseHead,
  responseFraming,
  type ResponseHead,
} from "../../../protocols/http1/response_head.ts";
import { problemResponse } from "../../../protocols/http1/problem.ts";
import { fuzzMutated, utf8 } from "../waku/fuzz_util.ts";

function parse(text: string): ResponseHead {
  const b = utf8(text);
  const h = parseResponseHead(b, b.length, 65536);
  if (typeof h !== "object") throw new Error(`Expected a head, got ${h}`);
  return h;
}

const framing = (text: string, method = "GET") => responseFraming(parse(text), method);

Deno.test("response framing follows RFC 9112 §6.3 in order", () => {
  assert.deepEqual(framing("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"), {
    kind: "length",
    length: 5,
  });
  assert.deepEqual(framing("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "HEAD"), {
    kind: "none",
  });
  assert.deepEqual(framing("HTTP/1.1 204 No Content\r\n\r\n"), { kind: "none" });
  assert.deepEqual(framing("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n"), {
    kind: "none",
  });
  assert.deepEqual(framing("HTTP/1.1 100 Continue\r\n\r\n"), { kind: "interim" });
  assert.deepEqual(framing("HTTP/1.1 101 Switching Protocols\r\n\r\n"), { kind: "tunnel" });
  assert.deepEqual(framing("HTTP/1.1 200 OK\r\n\r\n", "CONNECT"), { kind: "tunnel" });
  assert.deepEqual(framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), {
    kind: "chunked",
  });
  assert.deepEqual(framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), {
    kind: "close",
  });
  assert.deepEqual(framing("HTTP/1.0 200 OK\r\n\r\n"), { kind: "close" });
  assert.equal(parse("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n").keepAlive, false);
  assert.equal(parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n").keepAlive, true);
  assert.equal(parse("HTTP/1.1 200\r\n\r\n").status, 200);
});

Deno.test("response head: incomplete, too long, malformed", () => {
  const b = utf8("HTTP/1.1 200 OK\r\nA: b\r\n");
  assert.equal(parseResponseHead(b, b.length, 65536), "more");
  assert.equal(typeof parseResponseHead(b, b.length, 10), "string");
  for (
    const bad of ["HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n"]
  ) {
    const x = utf8(bad);
    assert.equal(typeof parseResponseHead(x, x.length, 65536), "string", bad);
  }
  const two = utf8("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
  assert.equal(typeof parseResponseHead(two, two.length, 65536), "string");
});

Deno.test("fuzz: response head parser never throws on mutated heads", () => {
  fuzzMutated(
    0x5e5,
    5000,
    () => utf8("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX: y\r\n\r\nabc"),
    (b) => {
      const h = parseResponseHead(b, b.length, 65536);
      if (typeof h === "object") assert.ok(h.length <= b.length);
    },
  );
});

Deno.test("problem response is complete problem+json that closes the connection", async () => {
  const bytes = problemResponse({
    status: 431,
    detail: "Too big",
    headers: { "retry-after": "1" },
  });
  const text = new TextDecoder().decode(bytes);
  const [head, body] = text.split("\r\n\r\n");
  assert.match(head, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
  assert.match(head, /\r\ncontent-type: application\/problem\+json\r\n/);
  assert.match(head, /\r\nconnection: close\r\n/);
  assert.match(head, /\r\nretry-after: 1/);
  assert.equal(Number(/content-length: (\d+)/.exec(head)![1]), utf8(body).length);
  assert.deepEqual(JSON.parse(body), {
    type: "about:blank",
    title: "Request Header Fields Too Large",
    status: 431,
    detail: "Too big",
  });
  await Promise.resolve();
});
