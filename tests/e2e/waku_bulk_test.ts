/**
 * The bulk route under abuse: a body over the limit is refused as it
 * streams, before it is parsed whole; a body of many bad items gets a small
 * problem that lists a few and counts them all; more bulks at once than
 * allowed are told to retry.
 */
import assert from "node:assert/strict";
import { MAX_FIELD_PROBLEMS } from "../../routes/define.ts";
import { MAX_CONCURRENT_BULKS } from "../../routes/waku_relay.ts";
import { concat } from "../../lib/bytes.ts";
import { topicPath, withGateway } from "../helpers.ts";
import { readAll } from "./waku_client.ts";

const PS = "/waku/2/rs/0/0";
const bulkUrl = (url: string) => `${url}/relay/v1/bulk?pubsubTopic=${topicPath(PS)}`;
const line = (i: number) => `{"payload":"${btoa(`m${i}`)}","contentTopic":"/x"}`;

Deno.test("e2e: a streamed bulk body over the limit is 413 as soon as it crosses it, and nothing is stored", async () => {
  await withGateway({ SYNCGATE_WAKU_BULK_BODY_LIMIT: String(64 * 1024) }, async (gw) => {
    // A raw client sends a chunked NDJSON body (no Content-Length); the answer comes as soon as
    // the body crosses the limit.
    const { hostname, port } = new URL(gw.url);
    const conn = await Deno.connect({ hostname, port: Number(port) });
    const enc = new TextEncoder();
    await conn.write(enc.encode(
      `POST /relay/v1/bulk?pubsubTopic=${topicPath(PS)} HTTP/1.1\r\nHost: x\r\n` +
        "Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n",
    ));
    // About 1 MB, 16 times the limit, and never the last chunk: a server that waited for the
    // whole body would never answer.
    for (let sent = 0; sent < 20_000; sent += 100) {
      const text = Array.from({ length: 100 }, (_, i) => line(sent + i)).join("\n") + "\n";
      try {
        await conn.write(enc.encode(`${enc.encode(text).length.toString(16)}\r\n${text}\r\n`));
      } catch {
        break; // the gateway closed the connection after answering
      }
    }
    const reader = conn.readable.getReader();
    const parts: Uint8Array[] = [];
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done || !value) break;
      parts.push(value);
    }
    const text = new TextDecoder().decode(concat(parts));
    assert.match(text, /^HTTP\/1\.1 413/);
    assert.match(text, /limit is 65536/);
    assert.deepEqual(await readAll(gw.url, PS), []);
  });
});

Deno.test("e2e: 100,000 bad items answer a small problem listing a few and counting all", async () => {
  await withGateway({}, async (gw) => {
    const items = Array.from(
      { length: 100_000 },
      () => ({ payload: "not base64!", contentTopic: "" }),
    );
    const res = await fetch(bulkUrl(gw.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(items),
    });
    assert.equal(res.status, 400);
    const text = await res.text();
    assert.ok(text.length < 10_000, `the problem is ${text.length} bytes`);
    const problem = JSON.parse(text);
    assert.equal(problem.errors.length, MAX_FIELD_PROBLEMS);
    assert.equal(problem.errorCount, 200_000, "two problems per item");
    assert.equal(problem.errors[0].field, "body[0].payload");
  });
});

Deno.test("e2e: more bulk requests at once than allowed are 503 with Retry-After", async () => {
  await withGateway({}, async (gw) => {
    // Bodies that stay open hold their bulk slots.
    const holds = Array.from({ length: MAX_CONCURRENT_BULKS }, () => {
      let ctrl!: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({ start: (c) => void (ctrl = c) });
      ctrl.enqueue(new TextEncoder().encode(line(0) + "\n"));
      const res = fetch(bulkUrl(gw.url), {
        method: "POST",
        headers: { "content-type": "application/x-ndjson" },
        body,
      });
      return { ctrl, res };
    });
    await new Promise((r) => setTimeout(r, 300));
    const extra = await fetch(bulkUrl(gw.url), {
      method: "POST",
      headers: { "content-type": "application/x-ndjson" },
      body: line(1),
    });
    assert.equal(extra.status, 503);
    assert.equal(extra.headers.get("retry-after"), "1");
    assert.equal((await extra.json()).type, "tag:syncgate,2026:busy");
    for (const h of holds) h.ctrl.close();
    for (const h of holds) assert.equal((await h.res).status, 200);
    const after = await fetch(bulkUrl(gw.url), {
      method: "POST",
      headers: { "content-type": "application/x-ndjson" },
      body: line(2),
    });
    assert.equal(after.status, 200);
    await after.body?.cancel();
  });
});
