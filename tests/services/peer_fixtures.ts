/** Listeners and connections over u32-framed text, for the peer connection tests. */
import { lengthPrefix } from "../../lib/frame_header.ts";
import { createLogger } from "../../lib/log.ts";
import { createMetrics } from "../../lib/metrics.ts";
import {
  type ConnectOptions,
  type PeerAddress,
  PeerConnection,
} from "../../services/peer_connection.ts";
import {
  type ConnectionHandler,
  PeerListener,
  type PeerListenerOptions,
} from "../../services/peer_listener.ts";

export const u32 = lengthPrefix({ size: 4 });
export const enc = new TextEncoder();
export const dec = new TextDecoder();
export const framing = { frameHeader: u32, maxFrameBytes: 1 << 20 };

/** A started listener (8 connections at most) with its own metrics. */
export async function listen(
  address: PeerAddress,
  handler: ConnectionHandler,
  more: Partial<PeerListenerOptions> = {},
) {
  const metrics = createMetrics();
  const listener = new PeerListener({
    name: "test",
    address,
    maxConnections: 8,
    log: createLogger("silent"),
    metrics,
    ...framing,
    ...more,
  }, handler);
  await listener.start();
  return { listener, metrics };
}

/** Connects with the test framing. */
export const connect = (address: PeerAddress, more: Partial<ConnectOptions> = {}) =>
  PeerConnection.connect({ address, connectTimeoutMs: 5000, ...framing, ...more });

/** The next frame as text; undefined at the end. */
export async function text(conn: PeerConnection): Promise<string | undefined> {
  const f = await conn.readFrame();
  return f ? dec.decode(f.body) : undefined;
}
