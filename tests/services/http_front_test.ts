/**
 * The HTTP front over real sockets: every framing, keep-alive, pipelining,
 * upgrades, long responses, and each limit and timeout. Responses are read
 * with a small parser of this file's own, not the front's.
 */
import assert from "node:assert/strict";
import { createLogger } from "../../lib/log.ts";
import { createMetrics, type Metrics } from "../../lib/metrics.ts";
import {
  CLIENT_ADDR_HEADER,
  type Front,
  type FrontLimits,
  startFront,
} from "../../services/http_front.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The test app: echoes, streams, upgrades, and reports what it saw. */
async function handler(req: Request, info: Deno.ServeHandlerInfo): Promise<Response> {
  const url = new URL(req.url);
  switch (url.pathname) {
    case "/echo":
      // A body the front cut off (malformed chunked) fails to read: answer something.
      return new Response(await req.bytes().catch(() => "cut"), {
        headers: { "x-method": req.method, "x-length": String(req.headers.get("content-length")) },
      });
    case "/who":
      return Response.json({
        remote: info.remoteAddr,
        header: req.headers.get(CLIENT_ADDR_HEADER),
        all: [...req.headers].filter(([k]) => k === CLIENT_ADDR_HEADER).length,
      });
    case "/empty":
      return new Response(null, { status: 204 });
    case "/cached":
      return new Response(null, { status: 304, headers: { etag: '"x"' } });
    case "/chunks":
      return new Response(
        ReadableStream.from(["one,", "two,", "three"]).pipeThrough(
          new TextEncoderStream(),
        ),
      );
    case "/sse": {
      const n = Number(url.searchParams.get("n") ?? 5);
      const every = Number(url.searchParams.get("every") ?? 100);
      let i = 0;
      let timer: ReturnType<typeof setInterval> | undefined;
      return new Response(
        new ReadableStream({
          start(c) {
            timer = setInterval(() => {
              c.enqueue(enc.encode(`data: ${i++}\n\n`));
              if (i === n) {
                clearInterval(timer);
                c.close();
              }
            }, every);
          },
          cancel: () => clearInterval(timer),
        }),
        { headers: { "content-type": "text/event-stream" } },
      );
    }
    case "/ws": {
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.onmessage = (e) => socket.send(`echo:${e.data}`);
      return response;
    }
    case "/slow":
      await new Promise((r) => setTimeout(r, Number(url.searchParams.get("ms") ?? 100)));
      return new Response("slow");
    default:
      return new Response(`hello ${req.method} ${url.pathname}`);
  }
}

async function withFront(
  limits: Partial<FrontLimits>,
  fn: (front: Front, port: number, metrics: Metrics) => Promise<void>,
): Promise<void> {
  const metrics = createMetrics();
  const front = await startFront({
    hostname: "127.0.0.1",
    port: 0,
    handler,
    limits,
    metrics,
    log: createLogger("silent"),
  });
  try {
    await fn(front, front.addr.port, metrics);
  } finally {
    await front.close();
  }
}

interface RawResponse {
  status: number;
  headers: Headers;
  body: string;
  head: string;
}

/** A client that writes raw bytes and reads responses with a parser of its own. */
class RawClient {
  #buf = new Uint8Array(0);
  #eof = false;
  private constructor(readonly conn: Deno.TcpConn) {}

  static async open(port: number): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async send(data: string | Uint8Array): Promise<void> {
    const b = typeof data === "string" ? enc.encode(data) : data;
    for (let o = 0; o < b.length;) o += await this.conn.write(b.subarray(o));
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = new Uint8Array(65536);
    let n: number | null = null;
    try {
      n = await this.conn.read(chunk);
    } catch {
      n = null;
    }
    if (n === null) {
      this.#eof = true;
      return false;
    }
    const next = new Uint8Array(this.#buf.length + n);
    next.set(this.#buf);
    next.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = next;
    return true;
  }

  async #take(n: number): Promise<string> {
    while (this.#buf.length < n) if (!(await this.#fill())) throw new Error("Closed early");
    const s = dec.decode(this.#buf.subarray(0, n));
    this.#buf = this.#buf.slice(n);
    return s;
  }

  async #line(): Promise<string> {
    for (;;) {
      const i = dec.decode(this.#buf).indexOf("\r\n");
      if (i >= 0) return (await this.#take(i + 2)).slice(0, -2);
      if (!(await this.#fill())) throw new Error("Closed early");
    }
  }

  /** Reads one response (its head only after HEAD or for 1xx/204/304). */
  async response(method = "GET"): Promise<RawResponse> {
    const statusLine = await this.#line();
    const status = Number(statusLine.split(" ")[1]);
    const headers = new Headers();
    let head = statusLine + "\r\n";
    for (let l = await this.#line(); l !== ""; l = await this.#line()) {
      head += l + "\r\n";
      const i = l.indexOf(":");
      headers.append(l.slice(0, i), l.slice(i + 1).trim());
    }
    let body = "";
    if (method === "HEAD" || status < 200 || status === 204 || status === 304) {
      // no body
    } else if (headers.get("transfer-encoding") === "chunked") {
      for (;;) {
        const size = parseInt(await this.#line(), 16);
        if (size === 0) {
          while ((await this.#line()) !== "");
          break;
        }
        body += await this.#take(size);
        await this.#take(2);
      }
    } else if (headers.has("content-length")) {
      body = await this.#take(Number(headers.get("content-length")));
    } else {
      while (await this.#fill());
      body = dec.decode(this.#buf);
      this.#buf = new Uint8Array(0);
    }
    return { status, headers, body, head };
  }

  /** Resolves true when the server closes the connection, false if it is still open after `ms`. */
  async closedWithin(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const t = new Promise<"open">((r) => setTimeout(() => r("open"), deadline - Date.now()));
      const read = this.#fill().then((more) => (more ? "data" : "closed"));
      const r = await Promise.race([read, t]);
      if (r === "closed") return true;
      if (r === "open") {
        // Leave the pending read to end when the test closes the socket.
        read.catch(() => {});
        return false;
      }
    }
    return false;
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

function assertProblem(res: RawResponse, status: number): Record<string, unknown> {
  assert.equal(res.status, status, res.head + res.body);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  assert.equal(res.headers.get("connection"), "close");
  const p = JSON.parse(res.body);
  assert.equal(p.status, status);
  assert.equal(typeof p.type, "string");
  assert.equal(typeof p.title, "string");
  assert.equal(typeof p.detail, "string");
  return p;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("front: keep-alive sequence of every framing on one connection", async () => {
  await withFront({}, async (_front, port) => {
    const c = await RawClient.open(port);
    try {
      await c.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
      assert.equal((await c.response()).body, "hello GET /x");

      await c.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello");
      let r = await c.response();
      assert.equal(r.body, "hello");
      assert.equal(r.headers.get("x-length"), "5");

      await c.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
      await c.send("3\r\nabc\r\n");
      await sleep(20);
      await c.send("4;ext=1\r\ndefg\r\n0\r\nTrailer: x\r\n\r\n");
      r = await c.response();
      assert.equal(r.body, "abcdefg");

      await c.send("HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n");
      r = await c.response("HEAD");
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("content-length"), String("hello HEAD /x".length));

      await c.send("GET /empty HTTP/1.1\r\nHost: a\r\n\r\n");
      assert.equal((await c.response()).status, 204);
      await c.send("GET /cached HTTP/1.1\r\nHost: a\r\n\r\n");
      assert.equal((await c.response()).status, 304);

      await c.send("GET /chunks HTTP/1.1\r\nHost: a\r\n\r\n");
      r = await c.response();
      assert.equal(r.headers.get("transfer-encoding"), "chunked");
      assert.equal(r.body, "one,two,three");

      await c.send("GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
      assert.equal((await c.response()).body, "hello GET /last");
      assert.equal(await c.closedWithin(5_000), true, "closed after Connection: close");
    } finally {
      c.close();
    }
  });
});

Deno.test("front: pipelined requests are answered in order", async () => {
  await withFront({}, async (_front, port) => {
    const c = await RawClient.open(port);
    try {
      await c.send(
        "GET /slow?ms=50 HTTP/1.1\r\nHost: a\r\n\r\n" +
          "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc" +
          "HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n" +
          "GET /b HTTP/1.1\r\nHost: a\r\n\r\n",
      );
      assert.equal((await c.response()).body, "slow");
      assert.equal((await c.response()).body, "abc");
      assert.equal((await c.response("HEAD")).status, 200);
      assert.equal((await c.response()).body, "hello GET /b");
    } finally {
      c.close();
    }
  });
});

Deno.test("front: Expect: 100-continue gets the server's 100 before the body is sent", async () => {
  await withFront({}, async (_front, port) => {
    const c = await RawClient.open(port);
    try {
      await c.send(
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
      );
      const interim = await c.response();
      assert.equal(interim.status, 100);
      await c.send("body");
      assert.equal((await c.response()).body, "body");
    } finally {
      c.close();
    }
  });
});

Deno.test("front: fetch with streamed and fixed bodies; the client's address reaches the app", async () => {
  await withFront({}, async (_front, port) => {
    const base = `http://127.0.0.1:${port}`;
    const big = "x".repeat(300_000);
    let res = await fetch(`${base}/echo`, { method: "POST", body: big });
    assert.equal((await res.text()).length, big.length);
    res = await fetch(`${base}/echo`, {
      method: "POST",
      body: ReadableStream.from(["a", "b", "c"]).pipeThrough(new TextEncoderStream()),
    });
    assert.equal(await res.text(), "abc");
    const who = await (await fetch(`${base}/who`, {
      headers: { [CLIENT_ADDR_HEADER]: "6.6.6.6:1" },
    })).json();
    assert.equal(who.all, 1, "a client's own copy of the field is removed");
    assert.equal(who.remote.transport, "tcp");
    assert.equal(who.remote.hostname, "127.0.0.1");
    assert.equal(who.header, `127.0.0.1:${who.remote.port}`);
    assert.notEqual(who.remote.port, 1);
  });
});

Deno.test("front: a WebSocket upgrade is tunnelled and outlives the idle timeout", async () => {
  await withFront({ idleTimeoutMs: 200 }, async (_front, port) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    const messages: string[] = [];
    const next = () =>
      new Promise<string>((resolve, reject) => {
        ws.onmessage = (e) => resolve(String(e.data));
        ws.onclose = () => reject(new Error("closed"));
      });
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    let reply = next();
    ws.send("one");
    messages.push(await reply);
    await sleep(700);
    reply = next();
    ws.send("two");
    messages.push(await reply);
    assert.deepEqual(messages, ["echo:one", "echo:two"]);
    const closed = new Promise((r) => ws.onclose = r);
    ws.close();
    await closed;
  });
});

Deno.test("front: an SSE stream longer than the idle timeout is not cut", async () => {
  await withFront({ idleTimeoutMs: 150 }, async (_front, port) => {
    const res = await fetch(`http://127.0.0.1:${port}/sse?n=6&every=120`);
    const text = await res.text();
    assert.equal(text, [0, 1, 2, 3, 4, 5].map((i) => `data: ${i}\n\n`).join(""));
  });
});

Deno.test("front: an idle keep-alive connection is closed after the idle timeout", async () => {
  await withFront({ idleTimeoutMs: 300 }, async (_front, port, metrics) => {
    const c = await RawClient.open(port);
    try {
      await c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      assert.equal((await c.response()).status, 200);
      assert.equal(await c.closedWithin(5_000), true);
      assert.equal(metrics.frontTimeouts.get({ phase: "idle" }), 1);
    } finally {
      c.close();
    }
  });
});

Deno.test("front: slowloris heads are closed after the header timeout while others are served", async () => {
  await withFront({ headerTimeoutMs: 500 }, async (_front, port, metrics) => {
    const silent = await RawClient.open(port);
    const trickle = await RawClient.open(port);
    let stop = false;
    const dripping = (async () => {
      const head = "GET / HTTP/1.1\r\nHost: a\r\nX-Slow: " + "z".repeat(500);
      for (let i = 0; i < head.length && !stop; i++) {
        await trickle.send(head[i]).catch(() => (stop = true));
        await sleep(20);
      }
    })();
    try {
      // Meanwhile other clients are served.
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/n${i}`);
        assert.equal(await res.text(), `hello GET /n${i}`);
      }
      assert.equal(await silent.closedWithin(10_000), true, "a silent connection is closed");
      const answer = await trickle.response();
      assertProblem(answer, 408);
      assert.equal(await trickle.closedWithin(10_000), true);
      assert.equal(metrics.frontTimeouts.get({ phase: "header" }), 2);
    } finally {
      stop = true;
      await dripping;
      silent.close();
      trickle.close();
    }
  });
});

Deno.test("front: refusals are problem+json with Connection: close", async () => {
  await withFront(
    { maxUrlBytes: 100, maxHeaderBytes: 1000, maxHeaderCount: 10 },
    async (_front, port, metrics) => {
      const ask = async (bytes: string, status: number) => {
        const c = await RawClient.open(port);
        try {
          await c.send(bytes);
          const p = assertProblem(await c.response(), status);
          assert.equal(await c.closedWithin(5_000), true);
          return p;
        } finally {
          c.close();
        }
      };
      await ask(`GET /${"a".repeat(200)} HTTP/1.1\r\nHost: a\r\n\r\n`, 414);
      await ask(`GET /${"a".repeat(5000)}`, 414);
      await ask(`GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${"b".repeat(2000)}\r\n\r\n`, 431);
      await ask(`GET / HTTP/1.1\r\n${"X: 1\r\n".repeat(11)}\r\n`, 431);
      await ask("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 400);
      await ask("GET / HTTP/1.1\r\nHost a\r\n\r\n", 400);
      await ask("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
      await ask("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX", 400);
      await ask("GET / HTTP/2.0\r\n\r\n", 505);
      assert.equal(metrics.frontRefused.get({ reason: "uri_too_long" }), 2);
      assert.equal(metrics.frontRefused.get({ reason: "headers_too_large" }), 2);
      assert.equal(metrics.frontRefused.get({ reason: "bad_request" }), 4);
      // A request after an answered one on the same connection is refused in its turn.
      const c = await RawClient.open(port);
      try {
        await c.send(`GET /a HTTP/1.1\r\n\r\nGET /${"a".repeat(200)} HTTP/1.1\r\n\r\n`);
        assert.equal((await c.response()).body, "hello GET /a");
        assertProblem(await c.response(), 414);
      } finally {
        c.close();
      }
    },
  );
});

Deno.test("front: past the connection cap new connections get 503; open ones keep working", async () => {
  await withFront({ maxConnections: 2 }, async (front, port, metrics) => {
    const a = await RawClient.open(port);
    const b = await RawClient.open(port);
    try {
      await a.send("GET /a HTTP/1.1\r\n\r\n");
      await b.send("GET /b HTTP/1.1\r\n\r\n");
      assert.equal((await a.response()).body, "hello GET /a");
      assert.equal((await b.response()).body, "hello GET /b");
      const c = await RawClient.open(port);
      const refused = await c.response();
      const p = assertProblem(refused, 503);
      assert.match(String(p.detail), /2 connections/);
      assert.equal(refused.headers.get("retry-after"), "1");
      assert.equal(await c.closedWithin(5_000), true);
      c.close();
      await a.send("GET /again HTTP/1.1\r\n\r\n");
      assert.equal((await a.response()).body, "hello GET /again");
      assert.equal(front.connections, 2);
      assert.equal(metrics.frontConnections.get({ outcome: "refused" }), 1);
      b.close();
      for (let i = 0; i < 100 && front.connections > 1; i++) await sleep(10);
      const d = await RawClient.open(port);
      await d.send("GET /d HTTP/1.1\r\n\r\n");
      assert.equal((await d.response()).body, "hello GET /d", "a freed slot is used again");
      d.close();
    } finally {
      a.close();
      b.close();
    }
  });
});

Deno.test("front: close() ends idle connections and lets a response in progress finish", async () => {
  const metrics = createMetrics();
  const front = await startFront({
    hostname: "127.0.0.1",
    port: 0,
    handler,
    metrics,
    log: createLogger("silent"),
  });
  const port = front.addr.port;
  const idle = await RawClient.open(port);
  await idle.send("GET / HTTP/1.1\r\n\r\n");
  await idle.response();
  const busy = await RawClient.open(port);
  await busy.send("GET /slow?ms=300 HTTP/1.1\r\n\r\n");
  await sleep(50);
  const closing = front.close();
  assert.equal(await idle.closedWithin(5_000), true);
  assert.equal((await busy.response()).body, "slow");
  assert.equal(await busy.closedWithin(5_000), true);
  await closing;
  idle.close();
  busy.close();
  assert.equal(metrics.frontConnectionsOpen.get(), 0);
  assert.equal(metrics.frontUpstreamOpen.get(), 0);
});
