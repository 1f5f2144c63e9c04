/**
 * Slow consumers are bounded: a subscriber that stops reading is closed with
 * a reason, and the gateway keeps serving everyone else.
 */
import assert from "node:assert/strict";
import { b64, postJson, topicPath, withGateway } from "../helpers.ts";

const PS = "/waku/2/rs/0/0";
const env = { SYNCGATE_LIVE_BUFFER_BYTES: "65536" };

/** Publishes ~`mb` MiB of 16 KiB messages in bulk requests. */
async function flood(url: string, mb: number) {
  const payload = b64("x".repeat(16 * 1024));
  for (let r = 0; r < mb / 4; r++) {
    const items = Array.from(
      { length: 256 },
      (_, i) => ({ payload, contentTopic: "/flood", meta: b64(`${r}-${i}`) }),
    );
    const res = await postJson(`${url}/relay/v1/bulk?pubsubTopic=${topicPath(PS)}`, items);
    assert.equal(res.status, 200);
  }
}

/** Reads server frames (RFC 6455, unmasked) until a close frame; returns its code and reason. */
async function readUntilClose(
  conn: Deno.Conn,
  initial: Uint8Array,
): Promise<{ code: number; reason: string }> {
  let buf = initial;
  const more = async () => {
    const chunk = new Uint8Array(65536);
    const n = await conn.read(chunk);
    if (n === null) throw new Error("connection ended without a close frame");
    const next = new Uint8Array(buf.length + n);
    next.set(buf);
    next.set(chunk.subarray(0, n), buf.length);
    buf = next;
  };
  for (;;) {
    while (buf.length < 2) await more();
    const opcode = buf[0] & 0x0f;
    let len = buf[1] & 0x7f;
    let off = 2;
    if (len === 126) {
      while (buf.length < 4) await more();
      len = (buf[2] << 8) | buf[3];
      off = 4;
    } else if (len === 127) {
      while (buf.length < 10) await more();
      len = Number(new DataView(buf.buffer, buf.byteOffset + 2, 8).getBigUint64(0));
      off = 10;
    }
    while (buf.length < off + len) await more();
    const payload = buf.subarray(off, off + len);
    if (opcode === 0x8) {
      return {
        code: (payload[0] << 8) | payload[1],
        reason: new TextDecoder().decode(payload.subarray(2)),
      };
    }
    buf = buf.subarray(off + len);
  }
}

Deno.test("e2e: a WebSocket subscriber that stops reading is closed with 4008", async () => {
  await withGateway(env, async (gw) => {
    const port = Number(new URL(gw.url).port);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const key = btoa("0123456789abcdef");
    await conn.write(new TextEncoder().encode(
      `GET /relay/v1/ws?contentTopics=/flood HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    ));
    // Read the 101 answer, then stop reading while the flood goes on.
    let head = new Uint8Array(0);
    while (!new TextDecoder().decode(head).includes("\r\n\r\n")) {
      const chunk = new Uint8Array(4096);
      const n = await conn.read(chunk);
      assert.ok(n !== null);
      head = new Uint8Array([...head, ...chunk.subarray(0, n)]);
    }
    const text = new TextDecoder().decode(head);
    assert.match(text, /^HTTP\/1.1 101/);
    const rest = head.subarray(text.indexOf("\r\n\r\n") + 4);
    await new Promise((r) => setTimeout(r, 50));
    await flood(gw.url, 32);
    const close = await readUntilClose(conn, rest);
    assert.equal(close.code, 4008);
    assert.match(close.reason, /fell behind/);
    conn.close();
    // Everyone else is still served.
    assert.equal((await fetch(`${gw.url}/health`)).status, 200);
  });
});

Deno.test("e2e: an SSE subscriber that stops reading gets event: error and the stream ends", async () => {
  await withGateway(env, async (gw) => {
    const res = await fetch(`${gw.url}/relay/v1/events?contentTopics=/flood`);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    await reader.read();
    await flood(gw.url, 32);
    let text = "";
    let frames = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      frames += (value.match(/event: message/g) ?? []).length;
      text = text.slice(-4096);
    }
    assert.match(text, /event: error\ndata: \{"reason":"Subscriber fell behind[^"]*"\}/);
    assert.ok(frames < 2048, `only part of the flood was delivered (${frames})`);
  });
});
