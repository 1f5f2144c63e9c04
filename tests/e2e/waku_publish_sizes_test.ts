/**
 * Publishes of every size, count and concurrency over real sockets: each is
 * answered 200 and stored whole, or a 4xx that names the limit; never a 5xx.
 * The cases users reported (a few KB each, in bulk, at once, over one
 * WebSocket), and the sizes around every threshold of the store's layout.
 */
import assert from "node:assert/strict";
import { encodedSize, type WakuMessage } from "../../protocols/waku/message.ts";
import { CHUNK_BYTES } from "../../storage/blobs.ts";
import { MAX_VALUE_BYTES } from "../../storage/kv.ts";
import { encodeRecord } from "../../storage/waku_record.ts";
import { MAX_BULK_MESSAGES } from "../../routes/waku_schemas.ts";
import { postJson, topicPath, withGateway } from "../helpers.ts";
import { Rng } from "../protocols/waku/fuzz_util.ts";
import { nextFrame, openWs, publishProtobuf, readAll } from "./waku_client.ts";

const CT = "/app/1/chat/proto";
const T0 = 1_732_000_000_000_000_000n;

/** Distinct payloads of the given sizes (random bytes, so every hash differs). */
function payloads(rng: Rng, sizes: number[]): Uint8Array[] {
  return sizes.map((n) => rng.bytes(n));
}

const sizesBetween = (rng: Rng, n: number, lo: number, hi: number) =>
  Array.from({ length: n }, () => lo + rng.int(hi - lo + 1));

/** Checks the topic holds exactly these payloads, byte for byte. */
async function assertStored(url: string, topic: string, sent: Uint8Array[]): Promise<void> {
  const got = await readAll(url, topic, true);
  const want = new Set(sent.map((p) => p.toBase64()));
  assert.equal(got.length, want.size, `${topic}: ${got.length} stored of ${want.size}`);
  for (const e of got) assert.ok(want.has(e.message!.payload), `${topic}: a payload differs`);
}

Deno.test("e2e: bulk publishes of a few KB to 150 KB each are stored whole", async () => {
  await withGateway({}, async (gw) => {
    const rng = new Rng(11);
    const cases: [string, number[]][] = [
      ["100 x 2,000 B", Array(100).fill(2000)],
      ["100 x 4,000 B", Array(100).fill(4000)],
      ["50 x 4-8 KiB", sizesBetween(rng, 50, 4096, 8192)],
      ["50 x 60 KiB", Array(50).fill(60 * 1024)],
      ["1,000 x 2 KiB", Array(1000).fill(2048)],
      ["15 x 100-150 KB", sizesBetween(rng, 15, 100_000, 150_000)],
    ];
    for (const [name, sizes] of cases) {
      const topic = `/bulk/${name}`;
      const sent = payloads(rng, sizes);
      const items = sent.map((p, i) => ({
        payload: p.toBase64(),
        contentTopic: CT,
        timestamp: String(T0 + BigInt(i)),
      }));
      const res = await postJson(`${gw.url}/relay/v1/bulk?pubsubTopic=${topicPath(topic)}`, items);
      assert.equal(res.status, 200, `${name}: ${JSON.stringify(res.body).slice(0, 300)}`);
      assert.equal(res.body.stored, sizes.length, name);
      await assertStored(gw.url, topic, sent);
    }
  });
});

Deno.test("e2e: single publishes of a few KB sent at the same moment are all stored", async () => {
  await withGateway({}, async (gw) => {
    const rng = new Rng(12);
    const cases: [string, number[], "json" | "protobuf"][] = [
      ["50 x 4-8 KiB", sizesBetween(rng, 50, 4096, 8192), "json"],
      ["50 x 4-8 KiB", sizesBetween(rng, 50, 4096, 8192), "protobuf"],
      ["50 x 60 KiB", Array(50).fill(60 * 1024), "json"],
      ["200 x 2-4 KiB", sizesBetween(rng, 200, 2048, 4096), "protobuf"],
      ["500 x 0-3 KiB", sizesBetween(rng, 500, 0, 3072), "json"],
    ];
    for (const [name, sizes, kind] of cases) {
      const topic = `/singles/${kind}/${name}`;
      const sent = payloads(rng, sizes);
      const statuses = await Promise.all(sent.map(async (payload, i) => {
        const timestamp = T0 + BigInt(i);
        if (kind === "protobuf") {
          const res = await publishProtobuf(gw.url, topic, {
            payload,
            contentTopic: CT,
            version: 0,
            timestamp,
          });
          await res.body?.cancel();
          return res.status;
        }
        const res = await postJson(`${gw.url}/relay/v1/messages/${topicPath(topic)}`, {
          payload: payload.toBase64(),
          contentTopic: CT,
          timestamp: String(timestamp),
        });
        return res.status;
      }));
      assert.deepEqual(new Set(statuses), new Set([200]), `${name} (${kind})`);
      await assertStored(gw.url, topic, sent);
    }
  });
});

Deno.test("e2e: one WebSocket with hundreds of 8 KiB publish frames in flight gets every ack", async () => {
  await withGateway({}, async (gw) => {
    const rng = new Rng(13);
    const ws = await openWs(`${gw.url.replace("http", "ws")}/relay/v1/ws?contentTopics=/none`);
    // 1,000 frames back to back pass the 256 a socket may have in flight: each frame is still
    // answered with its id, an ack or a 429 that names the limit, and the socket stays open.
    for (const count of [50, 200, 1000]) {
      const topic = `/ws/${count}`;
      const sent = payloads(rng, Array(count).fill(count > 256 ? 1024 : 8192));
      const replies = new Map<string, Record<string, unknown>>();
      const done = new Promise<void>((resolve, reject) => {
        ws.onmessage = (e) => {
          const f = JSON.parse(e.data);
          replies.set(f.id, f);
          if (replies.size === count) resolve();
        };
        ws.onclose = (e) => reject(new Error(`closed ${e.code} ${e.reason}`));
      });
      sent.forEach((p, i) =>
        ws.send(JSON.stringify({
          type: "publish",
          id: `${count}-${i}`,
          pubsubTopic: topic,
          message: { payload: p.toBase64(), contentTopic: CT, timestamp: String(T0 + BigInt(i)) },
        }))
      );
      await done;
      const acked: Uint8Array[] = [];
      sent.forEach((p, i) => {
        const f = replies.get(`${count}-${i}`)!;
        if (f.type === "ack") return void acked.push(p);
        const problem = f.problem as { status: number; detail: string };
        assert.equal(problem.status, 429, JSON.stringify(f));
        assert.match(problem.detail, /At most 256 frames/);
      });
      if (count <= 256) assert.equal(acked.length, count, "every frame acked under the limit");
      else assert.ok(acked.length >= 256, `${acked.length} acked of ${count}`);
      assert.equal(ws.readyState, WebSocket.OPEN);
      await assertStored(gw.url, topic, acked);
    }
    ws.close();
  });
});

Deno.test("e2e: a WebSocket publish frame that fails validation is answered with its id", async () => {
  await withGateway({}, async (gw) => {
    const ws = await openWs(`${gw.url.replace("http", "ws")}/relay/v1/ws?contentTopics=/none`);
    const bad: [string, Record<string, unknown>, RegExp][] = [
      ["ts", { payload: "AA==", contentTopic: CT, timestamp: "soon" }, /timestamp/],
      ["b64", { payload: "not base64!", contentTopic: CT }, /payload/],
      ["no-ct", { payload: "AA==" }, /contentTopic/],
      ["meta", { payload: "AA==", contentTopic: CT, meta: new Uint8Array(65).toBase64() }, /meta/],
    ];
    for (const [id, message, field] of bad) {
      const reply = nextFrame(ws);
      ws.send(JSON.stringify({ type: "publish", id, pubsubTopic: "/ps", message }));
      const f = await reply;
      assert.equal(f.type, "error", id);
      assert.equal(f.id, id);
      const problem = f.problem as { status: number; detail: string };
      assert.equal(problem.status, 400, id);
      assert.match(problem.detail, field, id);
    }
    // An id of the wrong type is not echoed, and a frame that is not JSON has none.
    let reply = nextFrame(ws);
    ws.send(JSON.stringify({ type: "publish", id: 7, pubsubTopic: "/ps", message: {} }));
    assert.equal((await reply).id, undefined);
    reply = nextFrame(ws);
    ws.send("{");
    assert.equal((await reply).type, "error");
    assert.equal(ws.readyState, WebSocket.OPEN);
    ws.close();
  });
});

/** The payload size at which a message's record no longer fits one KV value. */
function inlineLimit(pubsubTopic: string): number {
  const fits = (n: number) => {
    const message: WakuMessage = {
      payload: new Uint8Array(n),
      contentTopic: CT,
      version: 0,
      timestamp: T0,
    };
    const rec = { hash: new Uint8Array(32), pubsubTopic, receivedTime: T0, message };
    return encodeRecord(rec).length <=
      MAX_VALUE_BYTES;
  };
  let lo = 0, hi = MAX_VALUE_BYTES;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The payload size whose message encodes to exactly `bytes`. */
function payloadForSize(bytes: number): number {
  let n = bytes;
  while (
    encodedSize({ payload: new Uint8Array(n), contentTopic: CT, version: 0, timestamp: T0 }) > bytes
  ) n--;
  return n;
}

Deno.test("e2e: payload sizes around each threshold of the layout are stored, one past the limit is 413", async () => {
  for (const maxBytes of [150 * 1024, 1024 * 1024]) {
    const env = {
      SYNCGATE_WAKU_MAX_MESSAGE_BYTES: String(maxBytes),
      SYNCGATE_BODY_LIMIT: String(2 * 1024 * 1024),
    };
    await withGateway(env, async (gw) => {
      const topic = "/thresholds";
      const inline = inlineLimit(topic);
      const max = payloadForSize(maxBytes);
      const around = (n: number) => [n - 1, n, n + 1].filter((x) => x >= 0 && x <= max);
      const sizes = [
        ...new Set([
          0,
          1,
          ...around(inline),
          ...around(CHUNK_BYTES),
          ...around(2 * CHUNK_BYTES),
          ...around(400 * 1024), // past half a commit, the payload is written before its record
          ...around(max),
        ]),
      ];
      const rng = new Rng(14);
      const sent = payloads(rng, sizes);
      for (const [i, payload] of sent.entries()) {
        const res = await publishProtobuf(gw.url, topic, {
          payload,
          contentTopic: CT,
          version: 0,
          timestamp: T0 + BigInt(i),
        });
        assert.equal(res.status, 200, `${payload.length} B: ${await res.text()}`);
      }
      await assertStored(gw.url, topic, sent);
      // The same sizes in one bulk request, on another topic.
      const bulkTopic = "/thresholds/bulk";
      const items = sent.map((p, i) => ({
        payload: p.toBase64(),
        contentTopic: CT,
        timestamp: String(T0 + BigInt(i)),
      }));
      const bulk = await postJson(
        `${gw.url}/relay/v1/bulk?pubsubTopic=${topicPath(bulkTopic)}`,
        items,
      );
      assert.equal(bulk.status, 200, JSON.stringify(bulk.body));
      await assertStored(gw.url, bulkTopic, sent);

      const over = await publishProtobuf(gw.url, topic, {
        payload: new Uint8Array(max + 1),
        contentTopic: CT,
        version: 0,
        timestamp: T0,
      });
      assert.equal(over.status, 413);
      assert.match((await over.json()).detail, new RegExp(`limit is ${maxBytes}`));
    });
  }
});

Deno.test("e2e: a bulk of the maximum count is stored and answered 200, past the request timeout", async () => {
  // The global request timeout is 1 s here; the bulk route's own is minutes, so a bulk that
  // takes longer to store is answered when it is durable, not with a 504 while it goes on.
  await withGateway({ SYNCGATE_REQUEST_TIMEOUT_MS: "1000" }, async (gw) => {
    const lines = Array.from(
      { length: MAX_BULK_MESSAGES },
      (_, i) =>
        `{"payload":"${
          new Uint8Array([i & 255, i >> 8, i >> 16]).toBase64()
        }","contentTopic":"${CT}"}`,
    );
    const res = await fetch(`${gw.url}/relay/v1/bulk?pubsubTopic=${topicPath("/max")}`, {
      method: "POST",
      headers: { "content-type": "application/x-ndjson" },
      body: lines.join("\n"),
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.stored, MAX_BULK_MESSAGES);
    assert.equal(new Set(body.messageHashes).size, MAX_BULK_MESSAGES);
  });
});
