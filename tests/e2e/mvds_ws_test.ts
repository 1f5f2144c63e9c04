/**
 * A WebSocket peer written here from the MVDS spec (only the protobuf codec
 * is borrowed) exchanges messages with gateway nodes in both modes; a frame
 * that is not a Payload closes that socket with 1007 and harms nothing; a
 * stranger is refused before the upgrade. Also: in-process gateways that
 * share an API key deliver to each other (the key goes with each payload).
 */
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { decodePayload, encodePayload, type Message } from "../../protocols/mvds/proto.ts";
import { postJson, withGateway } from "../helpers.ts";
import {
  addPeer,
  createNode,
  getMessage,
  listAll,
  newGroup,
  sendText,
  share,
  texts,
  waitFor,
} from "./mvds_client.ts";

const hex = (b: Uint8Array) => b.toHex();

/** HASH("MESSAGE_ID", group_id, timestamp, body), timestamp as 8 bytes little-endian. */
function specId(m: Message): Uint8Array {
  const ts = new Uint8Array(8);
  new DataView(ts.buffer).setBigInt64(0, m.timestamp, true);
  const parts = [new TextEncoder().encode("MESSAGE_ID"), m.groupId, ts, m.body];
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) all.set(p, (at += p.length) - p.length);
  return sha256(all);
}

/**
 * A batch-mode peer by the spec's rules: it sends its MESSAGEs every
 * epoch until ACKed, ACKs every MESSAGE it gets, REQUESTs what is OFFERed
 * and it lacks (ACKs what it has), and answers REQUESTs with the MESSAGE.
 */
class SpecPeer {
  held = new Map<string, Message>();
  mine = new Map<string, Message>(); // not yet ACKed
  acks = new Map<string, Uint8Array>();
  requests = new Map<string, Uint8Array>();
  requested = new Map<string, Message>();
  timer: ReturnType<typeof setInterval>;

  constructor(readonly ws: WebSocket) {
    ws.binaryType = "arraybuffer";
    ws.onmessage = (e) => this.onPayload(new Uint8Array(e.data as ArrayBuffer));
    this.timer = setInterval(() => this.epoch(), 50);
  }

  send(m: Message) {
    this.held.set(hex(specId(m)), m);
    this.mine.set(hex(specId(m)), m);
  }

  onPayload(bytes: Uint8Array) {
    const p = decodePayload(bytes);
    for (const m of p.messages) {
      const id = specId(m);
      this.held.set(hex(id), m);
      this.acks.set(hex(id), id);
      this.requests.delete(hex(id));
    }
    for (const id of p.acks) this.mine.delete(hex(id));
    for (const id of p.offers) {
      if (this.held.has(hex(id))) this.acks.set(hex(id), id);
      else this.requests.set(hex(id), id);
    }
    for (const id of p.requests) {
      const m = this.held.get(hex(id));
      if (m) this.requested.set(hex(id), m);
    }
  }

  epoch() {
    const payload = {
      acks: [...this.acks.values()],
      offers: [],
      requests: [...this.requests.values()],
      messages: [...this.mine.values(), ...this.requested.values()],
    };
    this.acks.clear();
    this.requested.clear();
    if (payload.acks.length + payload.requests.length + payload.messages.length === 0) return;
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(encodePayload(payload));
  }

  close() {
    clearInterval(this.timer);
    this.ws.close();
  }
}

function open(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error(`WebSocket to ${url} failed`));
  });
}

Deno.test("e2e mvds: a WebSocket peer from the spec exchanges messages with gateway nodes", async () => {
  await withGateway({}, async (gw) => {
    for (const mode of ["batch", "interactive"] as const) {
      const node = await createNode(gw.url, { mode });
      const peerId = crypto.getRandomValues(new Uint8Array(32));
      const peer = "0x" + hex(peerId);
      await addPeer(gw.url, node, peer);
      const group = newGroup();
      await share(gw.url, node, group, peer);
      for (let i = 0; i < 5; i++) await sendText(gw.url, node, group, `${mode} gw${i}`);
      const ws = await open(`${gw.url.replace("http", "ws")}/mvds/nodes/${node}/ws?peer=${peer}`);
      const p = new SpecPeer(ws);
      try {
        const groupId = Uint8Array.fromHex(group.slice(2));
        for (let i = 0; i < 5; i++) {
          p.send({
            groupId,
            timestamp: BigInt(1_700_000_000 + i),
            body: new TextEncoder().encode(`${mode} ws${i}`),
          });
        }
        await waitFor("both sides to hold all ten, and both to have ACKed", async () => {
          if (p.held.size < 10 || p.mine.size > 0) return false;
          const all = await listAll(gw.url, node, group);
          if (all.length < 10) return false;
          for (const m of all.filter((m) => !m.from)) {
            if ((await getMessage(gw.url, node, m.id)).delivery[peer]?.state !== "acked") {
              return false;
            }
          }
          return true;
        });
        const all = await listAll(gw.url, node, group);
        assert.deepEqual(
          texts(all.filter((m) => m.from === peer)).sort(),
          [0, 1, 2, 3, 4].map((i) => `${mode} ws${i}`),
        );
        for (const m of all) assert.ok(p.held.has(m.id.slice(2)), "ids agree with the spec's hash");
      } finally {
        p.close();
      }
    }
  });
});

Deno.test("e2e mvds: a bad WebSocket frame closes that socket with a reason; strangers get 403", async () => {
  await withGateway({}, async (gw) => {
    const node = await createNode(gw.url, { mode: "batch" });
    const peer = "0x" + "ab".repeat(32);
    await addPeer(gw.url, node, peer);
    const ws = await open(`${gw.url.replace("http", "ws")}/mvds/nodes/${node}/ws?peer=${peer}`);
    const closed = new Promise<CloseEvent>((r) => ws.onclose = r);
    ws.send(new Uint8Array([0xff, 0xff, 0xff, 0x01]));
    const ev = await closed;
    assert.equal(ev.code, 1007);
    assert.match(ev.reason, /MVDS payload/);
    assert.equal(
      await fetch(`${gw.url}/health`).then((r) => r.body?.cancel().then(() => r.status)),
      200,
    );
    const stranger = await fetch(`${gw.url}/mvds/nodes/${node}/ws?peer=0x0102`, {
      headers: {
        upgrade: "websocket",
        connection: "upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
      },
    });
    assert.equal(stranger.status, 403);
    await stranger.body?.cancel();
  });
});

Deno.test("e2e mvds: gateways sharing an API key deliver; a payload without it is 401", async () => {
  const key = "0123456789abcdef-mvds";
  const auth = { authorization: `Bearer ${key}` };
  await withGateway({ SYNCGATE_API_KEY: key }, async (g1) => {
    await withGateway({ SYNCGATE_API_KEY: key }, async (g2) => {
      const post = (url: string, body: unknown) => postJson(url, body, auth);
      const a = (await post(`${g1.url}/mvds/nodes`, { mode: "batch", epochMs: 50 })).body
        .id as string;
      const b = (await post(`${g2.url}/mvds/nodes`, { mode: "batch", epochMs: 50 })).body
        .id as string;
      assert.equal((await postJson(`${g1.url}/mvds/nodes`, { mode: "batch" })).status, 401);
      await post(`${g1.url}/mvds/nodes/${a}/peers`, {
        id: b,
        url: `${g2.url}/mvds/nodes/${b}/payloads`,
      });
      await post(`${g2.url}/mvds/nodes/${b}/peers`, {
        id: a,
        url: `${g1.url}/mvds/nodes/${a}/payloads`,
      });
      const group = newGroup();
      await post(`${g1.url}/mvds/nodes/${a}/groups/${group}/peers`, { peer: b });
      await post(`${g2.url}/mvds/nodes/${b}/groups/${group}/peers`, { peer: a });
      const sent = await post(`${g1.url}/mvds/nodes/${a}/groups/${group}/messages`, {
        body: "a2V5",
      });
      assert.equal(sent.status, 201);
      await waitFor(
        "the message to be ACKed",
        async () =>
          (await getMessage(g1.url, a, sent.body.id as string)).delivery[b]?.state === "acked",
      );
      const res = await fetch(`${g2.url}/mvds/nodes/${b}/payloads`, {
        method: "POST",
        headers: { "content-type": "application/x-protobuf", "x-mvds-peer": a },
        body: encodePayload({ acks: [], offers: [], requests: [], messages: [] }) as Uint8Array<
          ArrayBuffer
        >,
      });
      assert.equal(res.status, 401);
      await res.body?.cancel();
    });
  });
});

Deno.test("e2e mvds: with an API key a WebSocket peer authenticates; a socket without it displaces nothing", async () => {
  const key = "0123456789abcdef-ws";
  await withGateway({ SYNCGATE_API_KEY: key }, async (gw) => {
    const auth = { authorization: `Bearer ${key}` };
    const node = (await postJson(`${gw.url}/mvds/nodes`, { mode: "batch", epochMs: 50 }, auth))
      .body.id as string;
    const peer = "0x" + "cd".repeat(32);
    await postJson(`${gw.url}/mvds/nodes/${node}/peers`, { id: peer }, auth);
    const url = `${gw.url.replace("http", "ws")}/mvds/nodes/${node}/ws?peer=${peer}`;
    const a = await open(url);
    const ok = new Promise<string>((r) => a.onmessage = (e) => r(String(e.data)));
    a.send(JSON.stringify({ type: "auth", token: key }));
    assert.deepEqual(JSON.parse(await ok), { type: "auth", ok: true });
    // A socket that never authenticates: the gateway goes on answering, and the peer's
    // authenticated socket stays (it would have been replaced with 4009 before).
    const b = await open(url);
    const health = await fetch(`${gw.url}/health`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(a.readyState, WebSocket.OPEN);
    const bClosed = new Promise<CloseEvent>((r) => b.onclose = r);
    b.send(new Uint8Array([0]));
    assert.equal((await bClosed).code, 4001);
    a.close();
  });
});
