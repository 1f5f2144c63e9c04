/**
 * The HTTP front over real sockets: every framing, keep-alive, pipelining,
 * upgrades, long responses, and each limit and timeout; each test runs with
 * the front in a worker and on the main thread.
 */
import assert from "node:assert/strict";
import { createLogger } from "../../lib/log.ts";
import { createMetrics } from "../../lib/metrics.ts";
import { CLIENT_ADDR_HEADER, startFront } from "../../services/http_front.ts";
import {
  assertProblem,
  frontTest,
  handler,
  RawClient,
  settled,
  sleep,
  withFront,
} from "./front_harness.ts";

frontTest("keep-alive sequence of every framing on one connection", async (thread) => {
  await withFront(thread, {}, async (_front, port) => {
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

frontTest("pipelined requests are answered in order", async (thread) => {
  await withFront(thread, {}, async (_front, port) => {
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

frontTest("Expect: 100-continue gets the server's 100 before the body is sent", async (thread) => {
  await withFront(thread, {}, async (_front, port) => {
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

frontTest(
  "fetch with streamed and fixed bodies; the client's address reaches the app",
  async (thread) => {
    await withFront(thread, {}, async (_front, port) => {
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
  },
);

frontTest(
  "an answer before the request body is all sent reaches the client; the connection is not reused",
  async (thread) => {
    await withFront(thread, {}, async (_front, port) => {
      const chunk = new Uint8Array(64 * 1024).fill(0x41);
      for (let i = 0; i < 10; i++) {
        let sent = 0;
        const body = new ReadableStream<Uint8Array>({
          pull: (c) => sent++ < 40 ? c.enqueue(chunk) : c.close(),
        });
        const res = await fetch(`http://127.0.0.1:${port}/early`, { method: "POST", body });
        assert.equal(res.status, 413);
        // Deno.serve says so; the front reads the rest of the body before it closes (lingers),
        // so the client is not reset before it has read the answer.
        assert.equal(res.headers.get("connection"), "close");
        assert.equal(await res.text(), "too large");
        // The client does not reuse the connection the front closes: the next request works.
        const next = await fetch(`http://127.0.0.1:${port}/next`);
        assert.equal(await next.text(), "hello GET /next");
      }
    });
  },
);

frontTest("a WebSocket upgrade is tunnelled and outlives the idle timeout", async (thread) => {
  await withFront(thread, { idleTimeoutMs: 200 }, async (_front, port) => {
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

frontTest("an SSE stream longer than the idle timeout is not cut", async (thread) => {
  await withFront(thread, { idleTimeoutMs: 150 }, async (_front, port) => {
    const res = await fetch(`http://127.0.0.1:${port}/sse?n=6&every=120`);
    const text = await res.text();
    assert.equal(text, [0, 1, 2, 3, 4, 5].map((i) => `data: ${i}\n\n`).join(""));
  });
});

frontTest("an idle keep-alive connection is closed after the idle timeout", async (thread) => {
  await withFront(thread, { idleTimeoutMs: 300 }, async (_front, port, metrics) => {
    const c = await RawClient.open(port);
    try {
      await c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      assert.equal((await c.response()).status, 200);
      assert.equal(await c.closedWithin(5_000), true);
      await settled(() => metrics.frontTimeouts.get({ phase: "idle" }), 1);
    } finally {
      c.close();
    }
  });
});

frontTest(
  "slowloris heads are closed after the header timeout while others are served",
  async (thread) => {
    await withFront(thread, { headerTimeoutMs: 500 }, async (_front, port, metrics) => {
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
        await settled(() => metrics.frontTimeouts.get({ phase: "header" }), 2);
      } finally {
        stop = true;
        await dripping;
        silent.close();
        trickle.close();
      }
    });
  },
);

frontTest("refusals are problem+json with Connection: close", async (thread) => {
  await withFront(
    thread,
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
      await settled(() => metrics.frontRefused.get({ reason: "uri_too_long" }), 2);
      await settled(() => metrics.frontRefused.get({ reason: "headers_too_large" }), 2);
      await settled(() => metrics.frontRefused.get({ reason: "bad_request" }), 4);
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

frontTest(
  "past the connection cap new connections get 503; open ones keep working",
  async (thread) => {
    await withFront(thread, { maxConnections: 2 }, async (front, port, metrics) => {
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
        await settled(() => front.connections, 2);
        await settled(() => metrics.frontConnections.get({ outcome: "refused" }), 1);
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
  },
);

frontTest(
  "close() ends idle connections and lets a response in progress finish",
  async (thread) => {
    const metrics = createMetrics();
    const front = await startFront({
      hostname: "127.0.0.1",
      port: 0,
      handler,
      thread,
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
  },
);

frontTest("a port in use fails as Deno.listen does, and leaves nothing running", async (thread) => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await assert.rejects(
      startFront({
        hostname: "127.0.0.1",
        port: taken.addr.port,
        handler,
        thread,
        metrics: createMetrics(),
        log: createLogger("silent"),
      }),
      Deno.errors.AddrInUse,
    );
  } finally {
    taken.close();
  }
});
