/**
 * What MVDS nodes tell dashboards: the state machine's events (a message
 * received, a peer's ACK, an offer or request, a failure, a message
 * ignored) as live-hub events on one channel, filtered by node. Each frame
 * is JSON with 0x-hex ids: `{node, type, peer, id, …}`; a `received` frame
 * carries the message's group, timestamp and body size (not the body: GET
 * the message).
 */
import { toHex0x } from "../lib/bytes.ts";
import type { MvdsEvent } from "../protocols/mvds/node.ts";
import type { LiveEvent } from "./live_hub.ts";

/** The live-hub channel of MVDS events. */
export const MVDS_CHANNEL = "mvds";

/** A protocol event of `node` as a live event (peer ids are hex without 0x in the protocol). */
export function liveEvent(node: Uint8Array, e: MvdsEvent): LiveEvent {
  const nodeHex = toHex0x(node);
  const frame: Record<string, unknown> = {
    node: nodeHex,
    type: e.type,
    peer: `0x${e.peer}`,
    id: toHex0x(e.id),
  };
  if (e.type === "received") {
    frame.groupId = toHex0x(e.message.groupId);
    frame.timestamp = timestampJson(e.message.timestamp);
    frame.size = e.message.body.length;
  }
  if (e.type === "acked") frame.record = e.record;
  if (e.type === "failed") {
    frame.record = e.record;
    frame.reason = e.reason;
  }
  if (e.type === "ignored") frame.reason = e.reason;
  return { channel: MVDS_CHANNEL, attrs: { node: nodeHex }, json: JSON.stringify(frame) };
}

/**
 * A timestamp (Unix seconds) for JSON: a number, or its decimal digits when
 * a peer sent one beyond ±2^53 (the wire's int64 is kept exact).
 */
export function timestampJson(ts: bigint): number | string {
  const n = Number(ts);
  return Number.isSafeInteger(n) ? n : ts.toString();
}
