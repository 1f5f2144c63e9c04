/**
 * A small client of the gateway's Waku routes for the e2e tests: protobuf
 * publishes, reading a topic's whole history, WebSocket frames.
 */
import assert from "node:assert/strict";
import { encodeWakuMessage, type WakuMessage } from "../../protocols/waku/message.ts";
import { encodeHistoryRPC, type HistoryRPC } from "../../protocols/waku/store_rpc.ts";
import { topicPath } from "../helpers.ts";

/** A store v3 entry as the gateway answers it. */
export interface Entry {
  messageHash: string;
  pubsubTopic?: string;
  message?: { payload: string; contentTopic: string; proof?: string; [k: string]: unknown };
}

/** POSTs a protobuf WakuMessage to the relay publish route. */
export function publishProtobuf(url: string, pubsubTopic: string, msg: WakuMessage) {
  return fetch(`${url}/relay/v1/messages/${topicPath(pubsubTopic)}`, {
    method: "POST",
    headers: { "content-type": "application/x-protobuf" },
    body: encodeWakuMessage(msg) as Uint8Array<ArrayBuffer>,
  });
}

/** POSTs a HistoryRPC (or any bytes) to the store 2.0.0-beta2 route. */
export function postHistory(url: string, rpc: HistoryRPC | Uint8Array): Promise<Response> {
  const body = rpc instanceof Uint8Array ? rpc : encodeHistoryRPC(rpc);
  return fetch(`${url}/vac/waku/store/2.0.0-beta2`, {
    method: "POST",
    headers: { "content-type": "application/x-protobuf" },
    body: body as Uint8Array<ArrayBuffer>,
  });
}

/** Every stored entry on a pubsub topic, oldest first, paging with the cursor. */
export async function readAll(
  url: string,
  pubsubTopic: string,
  includeData = false,
): Promise<Entry[]> {
  const out: Entry[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 10_000; i++) {
    const q = new URLSearchParams({
      pageSize: "100",
      pubsubTopic,
      includeData: String(includeData),
    });
    if (cursor) q.set("cursor", cursor);
    const res = await fetch(`${url}/store/v3/messages?${q}`);
    assert.equal(res.status, 200, await res.clone().text());
    const body = await res.json();
    out.push(...body.messages);
    cursor = body.paginationCursor;
    if (!cursor) break;
  }
  return out;
}

/** Opens a WebSocket and waits until it is open. */
export function openWs(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error("WebSocket failed"));
  });
}

/** The next frame the socket receives, parsed; rejects if it closes first. */
export function nextFrame(ws: WebSocket): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    ws.addEventListener("message", (e) => resolve(JSON.parse(e.data)), { once: true });
    ws.addEventListener("close", (e) => reject(new Error(`closed ${e.code} ${e.reason}`)), {
      once: true,
    });
  });
}
