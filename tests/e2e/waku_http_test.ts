/**
 * The Waku routes over real sockets: publish, query, live WebSocket and SSE,
 * the seed protocol as protobuf, auth, and problem+json for bad input.
 */
import assert from "node:assert/strict";
import { MAX_PROOF_BYTES } from "../../protocols/waku/message.ts";
import { decodeHistoryRPC, encodeHistoryRPC } from "../../protocols/waku/store_rpc.ts";
import { b64, postJson, topicPath, withGateway } from "../helpers.ts";
import { nextFrame, openWs, postHistory, publishProtobuf, readAll } from "./waku_client.ts";

const PS = "/waku/2/rs/0/0";
const CT = "/app/1/chat/proto";
const KEY = "test-key-0123456789abcdef";

async function problem(res: Response, status: number): Promise<Record<string, unknown>> {
  assert.equal(res.status, status);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const body = await res.json();
  assert.equal(body.status, status);
  assert.equal(typeof body.title, "string");
  return body;
}

Deno.test("e2e: publish then query returns nwaku's shapes; duplicates are stored once", async () => {
  await withGateway({}, async (gw) => {
    const msg = {
      payload: b64("hello"),
      contentTopic: CT,
      timestamp: "1732000000000000001",
      meta: b64("m"),
    };
    const a = await postJson(`${gw.url}/relay/v1/messages/${topicPath(PS)}`, msg);
    assert.equal(a.status, 200);
    assert.match(a.body.messageHash as string, /^0x[0-9a-f]{64}$/);
    assert.match(a.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
    assert.equal(a.headers.get("x-content-type-options"), "nosniff");
    assert.equal(a.headers.get("x-frame-options"), "DENY");
    assert.equal(a.headers.get("cross-origin-resource-policy"), "same-origin");
    const again = await postJson(`${gw.url}/relay/v1/messages/${topicPath(PS)}`, msg);
    assert.equal(again.body.messageHash, a.body.messageHash);

    const res = await fetch(
      `${gw.url}/store/v3/messages?includeData=true&pubsubTopic=${topicPath(PS)}`,
    );
    const text = await res.text();
    assert.ok(text.includes('"timestamp":1732000000000000001'), "int64 timestamp written exactly");
    const body = JSON.parse(text);
    assert.equal(body.statusCode, 200);
    assert.equal(body.statusDesc, "OK");
    assert.equal(body.messages.length, 1);
    assert.deepEqual(body.messages[0].message, {
      payload: b64("hello"),
      contentTopic: CT,
      version: 0,
      timestamp: 1732000000000000001,
      meta: b64("m"),
      ephemeral: false,
    });
    assert.equal(body.messages[0].pubsubTopic, PS);
    assert.equal(body.paginationCursor, undefined);

    // includeData defaults to false, as in nwaku.
    const bare = await (await fetch(`${gw.url}/store/v3/messages`)).json();
    assert.deepEqual(bare.messages, [{ messageHash: a.body.messageHash }]);

    // Lookup by hash.
    const byHash = await (await fetch(`${gw.url}/store/v3/messages?hashes=${a.body.messageHash}`))
      .json();
    assert.equal(byHash.messages.length, 1);
  });
});

Deno.test("e2e: store v3 pages with cursors in both directions, oldest→newest", async () => {
  await withGateway({}, async (gw) => {
    const items = Array.from({ length: 45 }, (_, i) => ({
      payload: b64(`m${i}`),
      contentTopic: CT,
      timestamp: String(1_732_000_000_000_000_000n + BigInt(Math.floor(i / 4))), // ties on timestamp
    }));
    const bulk = await postJson(`${gw.url}/relay/v1/bulk?pubsubTopic=${topicPath(PS)}`, items);
    assert.equal(bulk.body.stored, 45);
    const walk = async (ascending: boolean) => {
      const pages: string[][] = [];
      let cursor = "";
      for (let i = 0; i < 20; i++) {
        const q = `pageSize=10&ascending=${ascending}&includeData=true${
          cursor ? `&cursor=${cursor}` : ""
        }`;
        const body = await (await fetch(`${gw.url}/store/v3/messages?${q}`)).json();
        const ts = body.messages.map((m: { message: { timestamp: number } }) =>
          m.message.timestamp
        );
        assert.deepEqual(ts, [...ts].sort(), "page is oldest→newest");
        pages.push(body.messages.map((m: { messageHash: string }) => m.messageHash));
        if (!body.paginationCursor) break;
        cursor = body.paginationCursor;
      }
      return pages;
    };
    const fwd = await walk(true);
    assert.deepEqual(fwd.map((p) => p.length), [10, 10, 10, 10, 5]);
    const back = await walk(false);
    assert.deepEqual(back.reverse().flat(), fwd.flat());
    assert.equal(new Set(fwd.flat()).size, 45);
  });
});

Deno.test("e2e: the seed protocol (HistoryRPC over HTTP) pages forward and backward", async () => {
  await withGateway({}, async (gw) => {
    const items = Array.from(
      { length: 25 },
      (_, i) => ({ payload: b64(`r${i}`), contentTopic: i % 2 ? CT : "/other" }),
    );
    await postJson(`${gw.url}/relay/v1/bulk?pubsubTopic=${topicPath(PS)}`, items);
    const query = async (pagingInfo: Parameters<typeof encodeHistoryRPC>[0]["query"]) => {
      const res = await postHistory(gw.url, { requestId: "req-1", query: pagingInfo });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "application/x-protobuf");
      const rpc = decodeHistoryRPC(await res.bytes());
      assert.equal(rpc.requestId, "req-1");
      return rpc.response!;
    };
    const seen: string[] = [];
    let cursor;
    for (let i = 0; i < 10; i++) {
      const r = await query({
        topics: [CT],
        pagingInfo: { pageSize: 5, direction: "forward", cursor },
      });
      if (r.messages.length === 0) break;
      assert.equal(r.pagingInfo!.pageSize, r.messages.length);
      assert.equal(r.pagingInfo!.direction, "forward");
      seen.push(...r.messages.map((m) => new TextDecoder().decode(m.payload)));
      cursor = r.pagingInfo!.cursor;
    }
    assert.deepEqual(seen, items.filter((_, i) => i % 2).map((it) => atob(it.payload)));

    const last = await query({ topics: [], pagingInfo: { pageSize: 3, direction: "backward" } });
    assert.deepEqual(last.messages.map((m) => new TextDecoder().decode(m.payload)), [
      "r22",
      "r23",
      "r24",
    ]);
    assert.deepEqual(last.pagingInfo!.cursor!.digest.length, 32);
  });
});

Deno.test("e2e: bad input gets problem+json 4xx", async () => {
  await withGateway({}, async (gw) => {
    const url = `${gw.url}/relay/v1/messages/${topicPath(PS)}`;
    const badB64 = await problem(
      await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"payload":"%%%","contentTopic":"x"}',
      }),
      400,
    );
    assert.deepEqual((badB64.errors as { field: string }[]).map((e) => e.field), ["body.payload"]);

    await problem(
      await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{not json",
      }),
      400,
    );
    const wrongType = await problem(
      await fetch(url, { method: "POST", headers: { "content-type": "text/plain" }, body: "hi" }),
      415,
    );
    assert.match(wrongType.detail as string, /text\/plain/);

    const longTopic = encodeURIComponent("/" + "t".repeat(600));
    const oversize = await problem(
      await fetch(`${gw.url}/relay/v1/messages/${longTopic}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ payload: b64("x"), contentTopic: CT }),
      }),
      400,
    );
    assert.match(oversize.detail as string, /path\.pubsubTopic/);

    const cursor = await problem(
      await fetch(`${gw.url}/store/v3/messages?cursor=0x${"ab".repeat(32)}`),
      400,
    );
    assert.equal(cursor.title, "Unknown cursor");
    await problem(await fetch(`${gw.url}/store/v3/messages?cursor=0x1234`), 400);
    await problem(
      await fetch(`${gw.url}/store/v3/messages?contentTopics=${Array(11).fill("a").join(",")}`),
      400,
    );
    // As nwaku reads it: anything but "true" is descending, not an error.
    const maybe = await fetch(`${gw.url}/store/v3/messages?ascending=maybe`);
    assert.equal(maybe.status, 200);
    await maybe.body?.cancel();

    const garbage = await problem(
      await postHistory(gw.url, new Uint8Array([0x12, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2])),
      400,
    );
    assert.match(garbage.detail as string, /HistoryRPC/);
    const unknownDigest = await postHistory(gw.url, {
      requestId: "x",
      query: {
        topics: [],
        pagingInfo: {
          pageSize: 1,
          direction: "forward",
          cursor: { digest: new Uint8Array(32), receivedTime: 0 },
        },
      },
    });
    await problem(unknownDigest, 400);
    const tooBig = await problem(
      await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ payload: "A".repeat(2 * 1024 * 1024), contentTopic: CT }),
      }),
      413,
    );
    assert.match(tooBig.detail as string, /limit is 1048576/);
    // A body without a Content-Length (chunked) is counted as it streams.
    const chunk = new TextEncoder().encode("A".repeat(64 * 1024));
    let sent = 0;
    const streamed = new ReadableStream<Uint8Array>({
      pull(ctrl) {
        if (sent++ < 40) ctrl.enqueue(chunk);
        else ctrl.close();
      },
    });
    const tooBigChunked = await problem(
      await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: streamed,
      }),
      413,
    );
    assert.match(tooBigChunked.detail as string, /limit is 1048576/);
    await problem(await fetch(`${gw.url}/nope`), 404);

    // Nothing bad was stored.
    const body = await (await fetch(`${gw.url}/store/v3/messages`)).json();
    assert.deepEqual(body.messages, []);
  });
});

Deno.test("e2e: a protobuf WakuMessage can be published; ephemeral ones are not stored", async () => {
  await withGateway({}, async (gw) => {
    const publish = (payload: Uint8Array, version: number, timestamp: bigint) =>
      publishProtobuf(gw.url, PS, { payload, contentTopic: CT, version, timestamp });
    const res = await publish(new Uint8Array([1, 2, 3]), 1, 5n);
    assert.equal(res.status, 200);
    const eph = await postJson(`${gw.url}/relay/v1/messages/${topicPath(PS)}`, {
      payload: b64("e"),
      contentTopic: CT,
      ephemeral: true,
    });
    assert.equal(eph.status, 200);
    // An empty payload is left off the wire by protobuf encoders; it must still serve as "".
    const res2 = await publish(new Uint8Array(0), 0, 6n);
    assert.equal(res2.status, 200);
    const body = await (await fetch(`${gw.url}/store/v3/messages?includeData=true`)).json();
    assert.equal(body.messages.length, 2);
    assert.deepEqual(body.messages[0].message.payload, "AQID");
    assert.equal(body.messages[0].message.version, 1);
    assert.deepEqual(body.messages[1].message.payload, "");
  });
});

Deno.test("e2e: a protobuf rate_limit_proof is stored and served; oversize proof or meta is 400", async () => {
  await withGateway({}, async (gw) => {
    const proof = new Uint8Array(330).map((_, i) => i);
    const msg = { payload: b64("p"), contentTopic: CT, version: 0, timestamp: 7n };
    const live = await openWs(`${gw.url.replace("http", "ws")}/relay/v1/ws?contentTopics=${CT}`);
    const frame = nextFrame(live);
    const res = await publishProtobuf(gw.url, PS, {
      ...msg,
      payload: new TextEncoder().encode("p"),
      rateLimitProof: proof,
    });
    assert.equal(res.status, 200);
    const { messageHash } = await res.json();
    assert.equal((await frame as { message: { proof: string } }).message.proof, proof.toBase64());
    live.close();

    const v3 = await (await fetch(`${gw.url}/store/v3/messages?includeData=true`)).json();
    assert.equal(v3.messages[0].messageHash, messageHash);
    assert.equal(v3.messages[0].message.proof, proof.toBase64(), "nwaku's JSON name: proof");
    const beta2 = await postHistory(gw.url, {
      requestId: "p",
      query: { topics: [], pagingInfo: { pageSize: 5, direction: "forward" } },
    });
    const rpc = decodeHistoryRPC(await beta2.bytes());
    assert.deepEqual(rpc.response!.messages[0].rateLimitProof, proof);

    const tooBig = await publishProtobuf(gw.url, PS, {
      ...msg,
      payload: new Uint8Array(1),
      rateLimitProof: new Uint8Array(MAX_PROOF_BYTES + 1),
    });
    const p1 = await problem(tooBig, 400);
    assert.match(p1.detail as string, /rateLimitProof is 1025 bytes; at most 1024/);
    const meta = await publishProtobuf(gw.url, PS, {
      ...msg,
      payload: new Uint8Array(1),
      meta: new Uint8Array(65),
    });
    assert.match((await problem(meta, 400)).detail as string, /meta is 65 bytes; at most 64/);
  });
});

Deno.test("e2e: with an API key, writes need the bearer token and reads stay open", async () => {
  await withGateway({ SYNCGATE_API_KEY: KEY }, async (gw) => {
    const url = `${gw.url}/relay/v1/messages/${topicPath(PS)}`;
    const msg = { payload: b64("a"), contentTopic: CT };
    const none = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(msg),
    });
    await problem(none, 401);
    assert.match(none.headers.get("www-authenticate") ?? "", /Bearer/);
    const wrong = await postJson(url, msg, { authorization: "Bearer wrong-key-000000000" });
    assert.equal(wrong.status, 401);
    const ok = await postJson(url, msg, { authorization: `Bearer ${KEY}` });
    assert.equal(ok.status, 200);
    assert.equal((await fetch(`${gw.url}/store/v3/messages`)).status, 200);
    const bulk = await postJson(`${gw.url}/relay/v1/bulk?pubsubTopic=x`, [msg]);
    assert.equal(bulk.status, 401);
    // The beta2 store query is a POST that only reads: no key needed.
    const query = await postHistory(gw.url, {
      requestId: "r",
      query: { topics: [], pagingInfo: { pageSize: 5, direction: "forward" } },
    });
    assert.equal(query.status, 200);
    await query.body?.cancel();
  });
  await withGateway({}, async (gw) => {
    const r = await postJson(`${gw.url}/relay/v1/messages/${topicPath(PS)}`, {
      payload: b64("a"),
      contentTopic: CT,
    });
    assert.equal(r.status, 200, "no key configured: writes are open");
  });
});

Deno.test("e2e: WebSocket subscribers get matching live messages and can publish", async () => {
  await withGateway({ SYNCGATE_API_KEY: KEY }, async (gw) => {
    const wsUrl = gw.url.replace("http", "ws") +
      `/relay/v1/ws?pubsubTopic=${topicPath(PS)}&contentTopics=${CT}`;
    const sub = await openWs(wsUrl);
    const other = await openWs(gw.url.replace("http", "ws") + `/relay/v1/ws?contentTopics=/else`);
    let otherGot = 0;
    other.onmessage = () => otherGot++;
    await new Promise((r) => setTimeout(r, 50));

    const got = nextFrame(sub);
    const pub = await postJson(`${gw.url}/relay/v1/messages/${topicPath(PS)}`, {
      payload: b64("live"),
      contentTopic: CT,
    }, {
      authorization: `Bearer ${KEY}`,
    });
    const frame = await got;
    assert.equal(frame.messageHash, pub.body.messageHash);
    assert.equal(frame.pubsubTopic, PS);
    assert.equal((frame.message as { payload: string }).payload, b64("live"));

    // Publishing over the socket needs auth when a key is set.
    let reply = nextFrame(sub);
    sub.send(
      JSON.stringify({
        type: "publish",
        id: "1",
        pubsubTopic: PS,
        message: { payload: b64("ws"), contentTopic: CT },
      }),
    );
    const denied = await reply;
    assert.equal(denied.type, "error");
    assert.equal(denied.id, "1");
    assert.equal((denied.problem as { status: number }).status, 401);
    reply = nextFrame(sub);
    sub.send(JSON.stringify({ type: "auth", token: KEY }));
    assert.deepEqual(await reply, { type: "auth", ok: true });

    const frames: Record<string, unknown>[] = [];
    const two = new Promise<void>((resolve) => {
      sub.onmessage = (e) => {
        frames.push(JSON.parse(e.data));
        if (frames.length === 2) resolve();
      };
    });
    sub.send(
      JSON.stringify({
        type: "publish",
        id: "2",
        pubsubTopic: PS,
        message: { payload: b64("ws"), contentTopic: CT },
      }),
    );
    await two;
    const ack = frames.find((f) => f.type === "ack")!;
    const live = frames.find((f) => f.messageHash && !f.type)!;
    assert.equal(ack.id, "2");
    assert.equal(ack.messageHash, live.messageHash);

    // A bad frame gets an error frame, and the socket stays usable.
    reply = nextFrame(sub);
    sub.onmessage = null;
    sub.send("{nope");
    assert.equal((await reply).type, "error");
    assert.equal(sub.readyState, WebSocket.OPEN);
    assert.equal(otherGot, 0, "the other subscriber's filter matched nothing");
    sub.close();
    other.close();
    await new Promise((r) => setTimeout(r, 50));
  });
});

Deno.test("e2e: SSE subscribers get live messages with the same JSON", async () => {
  await withGateway({}, async (gw) => {
    const ctrl = new AbortController();
    const res = await fetch(`${gw.url}/relay/v1/events?contentTopics=${CT}`, {
      signal: ctrl.signal,
    });
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    await reader.read(); // ": connected"
    const pub = await postJson(`${gw.url}/relay/v1/messages/${topicPath(PS)}`, {
      payload: b64("sse"),
      contentTopic: CT,
    });
    let text = "";
    while (!text.includes("\n\n")) text += (await reader.read()).value;
    const data = /data: (.*)\n/.exec(text)![1];
    assert.match(text, /^event: message\n/);
    assert.equal(JSON.parse(data).messageHash, pub.body.messageHash);
    ctrl.abort();
    await reader.cancel().catch(() => {});
  });
});

Deno.test("e2e: system routes — health, OpenAPI listing every route, docs offline, metrics", async () => {
  await withGateway({}, async (gw) => {
    assert.deepEqual((await (await fetch(`${gw.url}/health`)).json()).status, "ok");
    const doc = await (await fetch(`${gw.url}/openapi.json`)).json();
    assert.equal(doc.openapi, "3.1.0");
    // Markdown in Swagger UI: in a code span, `<key>` shows as written instead of as a tag.
    assert.ok(doc.info.description.includes("`Authorization: Bearer <key>`"));
    for (
      const p of [
        "/relay/v1/messages/{pubsubTopic}",
        "/relay/v1/bulk",
        "/relay/v1/ws",
        "/relay/v1/events",
        "/store/v3/messages",
        "/vac/waku/store/2.0.0-beta2",
        "/health",
        "/metrics",
        "/docs",
        "/docs/assets/{name}",
        "/openapi.json",
      ]
    ) {
      assert.ok(doc.paths[p], `${p} is documented`);
    }
    // A name of Object.prototype is no asset (it once reached the file system as one).
    for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      const res = await fetch(`${gw.url}/docs/assets/${name}`);
      assert.equal(res.status, 404, name);
      assert.equal(res.headers.get("content-type"), "application/problem+json");
      await res.body?.cancel();
    }
    const html = await (await fetch(`${gw.url}/docs`)).text();
    assert.ok(!/https?:\/\//.test(html), "no CDN links");
    const js = await fetch(`${gw.url}/docs/assets/swagger-ui-bundle.js`);
    assert.equal(js.status, 200);
    assert.ok((await js.bytes()).length > 100_000);
    await postJson(`${gw.url}/relay/v1/messages/${topicPath(PS)}`, {
      payload: b64("a"),
      contentTopic: CT,
    });
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(
      metrics,
      /syncgate_http_requests_total\{route="\/relay\/v1\/messages\/:pubsubTopic",method="POST",status="200"\} 1/,
    );
    assert.match(metrics, /syncgate_kv_commits_total\{store="waku",outcome="ok"\} \d+/);
    assert.match(metrics, /syncgate_http_request_duration_seconds_bucket/);
    assert.match(metrics, /syncgate_websockets_open/);
  });
});

Deno.test("e2e: bulk NDJSON is validated whole before anything is stored", async () => {
  await withGateway({}, async (gw) => {
    const post = (body: string) =>
      fetch(`${gw.url}/relay/v1/bulk?pubsubTopic=${topicPath(PS)}`, {
        method: "POST",
        headers: { "content-type": "application/x-ndjson" },
        body,
      });
    const good = JSON.stringify({ payload: b64("a"), contentTopic: CT });
    const bad = await problem(await post(`${good}\n{"payload":"!!","contentTopic":"x"}\n`), 400);
    assert.match(bad.detail as string, /line\[2\]\.payload/);
    assert.deepEqual((await (await fetch(`${gw.url}/store/v3/messages`)).json()).messages, []);
    const res = await post(
      `${good}\n\n${
        JSON.stringify({ payload: b64("b"), contentTopic: CT, pubsubTopic: "/other" })
      }\n`,
    );
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.count, 2);
    assert.equal(body.stored, 2);
    const other = await (await fetch(`${gw.url}/store/v3/messages?pubsubTopic=%2Fother`)).json();
    assert.equal(other.messages.length, 1);
  });
});

Deno.test("e2e: CORS is off by default and answers configured origins", async () => {
  await withGateway({}, async (gw) => {
    const res = await fetch(`${gw.url}/health`, { headers: { origin: "https://dash.example" } });
    await res.body?.cancel();
    assert.equal(res.headers.get("access-control-allow-origin"), null);
  });
  await withGateway({ SYNCGATE_CORS_ORIGINS: "https://dash.example" }, async (gw) => {
    const pre = await fetch(`${gw.url}/relay/v1/messages/x`, {
      method: "OPTIONS",
      headers: { origin: "https://dash.example", "access-control-request-method": "POST" },
    });
    await pre.body?.cancel();
    assert.equal(pre.headers.get("access-control-allow-origin"), "https://dash.example");
    assert.match(pre.headers.get("access-control-allow-headers") ?? "", /Authorization/i);
  });
});

Deno.test("e2e: a bulk request carries at most 100,000 messages", async () => {
  await withGateway({}, async (gw) => {
    const line = JSON.stringify({ payload: "", contentTopic: CT });
    const res = await fetch(`${gw.url}/relay/v1/bulk?pubsubTopic=${topicPath(PS)}`, {
      method: "POST",
      headers: { "content-type": "application/x-ndjson" },
      body: (line + "\n").repeat(100_001),
    });
    const body = await problem(res, 400);
    assert.match(body.detail as string, /100000 messages/);
    assert.deepEqual((await (await fetch(`${gw.url}/store/v3/messages`)).json()).messages, []);
  });
});

Deno.test("e2e: bytes that are no UTF-8, lone surrogates, base64 with whitespace and far-future timestamps are 400", async () => {
  await withGateway({}, async (gw) => {
    const publish = (topicInPath: string, body: string) =>
      fetch(`${gw.url}/relay/v1/messages/${topicInPath}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
    const badPath = await problem(
      await publish("%FF%FE", '{"payload":"AA==","contentTopic":"/x"}'),
      400,
    );
    assert.match(badPath.detail as string, /path\.pubsubTopic: is not valid percent-encoded UTF-8/);
    const surrogate = await problem(
      await publish(topicPath(PS), '{"payload":"AA==","contentTopic":"/x\\ud800"}'),
      400,
    );
    assert.match(surrogate.detail as string, /contentTopic: must be valid Unicode/);
    const spaced = await problem(
      await publish(topicPath(PS), '{"payload":"AA ==","contentTopic":"/x"}'),
      400,
    );
    assert.match(spaced.detail as string, /payload is not valid base64/);
    const future = BigInt(Date.now() + 3_600_000) * 1_000_000n;
    const late = await problem(
      await publish(topicPath(PS), `{"payload":"AA==","contentTopic":"/x","timestamp":${future}}`),
      400,
    );
    assert.match(late.detail as string, /timestamp is more than 600 s ahead/);
    const query = await fetch(`${gw.url}/store/v3/messages?pubsubTopic=%2Fa%ED%A0%80`);
    assert.equal(query.status, 400, "a query topic that decodes to no valid UTF-8");
    await query.body?.cancel();
    // A protobuf direction outside FORWARD/BACKWARD.
    const rpc = new Uint8Array([0x0a, 0x01, 0x31, 0x12, 0x04, 0x1a, 0x02, 0x18, 0x07]);
    const dir = await problem(await postHistory(gw.url, rpc), 400);
    assert.match(dir.detail as string, /direction/);
    assert.deepEqual(await readAll(gw.url, PS), [], "nothing was stored");
  });
});

Deno.test("e2e: a topic whose text holds `%XX` (sent as `%25XX`) is a topic, not bad encoding", async () => {
  await withGateway({}, async (gw) => {
    const res = await fetch(`${gw.url}/relay/v1/messages/%2Fx%25FF`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ payload: btoa("hi"), contentTopic: "/app/1/x/proto" }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    await res.body?.cancel();
    const bad = await fetch(`${gw.url}/relay/v1/messages/%FF%FE`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ payload: btoa("hi"), contentTopic: "/app/1/x/proto" }),
    });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).errors[0].field, /path/);
  });
});
