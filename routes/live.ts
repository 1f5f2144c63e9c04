/**
 * WebSocket and SSE ends of the live hub, for any protocol's channel. Both
 * send the same JSON frames; the hub closes a subscriber that falls behind
 * (more than `bufferBytes` waiting, or furthest behind when all subscribers
 * together are past the total) with a reason instead of buffering more.
 * What waits stays in the hub: a transport gets a small window at a time.
 */
import type { Context } from "hono";
import { HttpError } from "../error.ts";

import type { Logger } from "../lib/log.ts";
import type { Metrics } from "../lib/metrics.ts";
import type { LiveEvent, LiveHub, Subscription } from "../services/live_hub.ts";
import { DEFAULT_WINDOW_BYTES } from "../services/live_subscriber.ts";

/** WebSocket close code for a subscriber that fell behind (private range). */
export const CLOSE_SLOW_CONSUMER = 4008;

export interface LiveOptions {
  hub: LiveHub;
  metrics: Metrics;
  channel: string;
  matches: (e: LiveEvent) => boolean;
  bufferBytes: number;
  /** Where a frame handler's unexpected failure is logged (the socket then closes with 1011). */
  log?: Logger;
}

/**
 * Upgrades the request to a WebSocket: 426 when it asks for none, 400 when
 * its upgrade is malformed (no Sec-WebSocket-Key, say), which Deno throws
 * for; every WebSocket route upgrades through here.
 */
export function upgradeWebSocket(c: Context): { socket: WebSocket; response: Response } {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new HttpError(426, "Upgrade Required", { detail: "Connect with a WebSocket client" });
  }
  try {
    return Deno.upgradeWebSocket(c.req.raw, { idleTimeout: 60 });
  } catch (e) {
    throw new HttpError(400, "Bad Request", {
      detail: `Not a valid WebSocket upgrade: ${(e as Error).message}`,
    });
  }
}

/** Frames a WebSocket client sent; the handler answers with a frame or nothing. */
export type FrameHandler = (ws: WebSocket, text: string) => Promise<void> | void;

/**
 * Upgrades to a WebSocket that receives live events and, when `onFrame` is
 * given, accepts frames from the client (frames over `maxFrameBytes` close
 * the socket with 1009; past `maxInFlight` frames being handled at once, a
 * frame is answered with a 429 error frame naming the limit and not
 * handled: the client sent more than one socket may have in flight).
 */
export function liveWebSocket(
  c: Context,
  opts: LiveOptions & { onFrame?: FrameHandler; maxFrameBytes: number; maxInFlight?: number },
): Response {
  const { socket, response } = upgradeWebSocket(c);
  let sub: Subscription | undefined;
  let counted = false;
  let inFlight = 0;
  socket.onopen = () => {
    counted = true;
    opts.metrics.openWebSockets.add(1);
    sub = opts.hub.subscribe(opts.channel, {
      matches: opts.matches,
      // Deno counts what its write tasks have not written yet (0 once closing).
      buffered: () => socket.readyState === WebSocket.OPEN ? socket.bufferedAmount : 0,
      send: (e) => {
        if (socket.readyState === WebSocket.OPEN) socket.send(e.json);
      },
      // Deno writes the close frame after what it holds (one window at most) and keeps the
      // connection until the peer reads it or goes: only the front can cut a peer that never does.
      close: (reason) => socket.close(CLOSE_SLOW_CONSUMER, reason.slice(0, 120)),
    }, { maxBytes: opts.bufferBytes });
  };
  socket.onclose = () => {
    sub?.unsubscribe();
    // Counted once, whatever close events come.
    if (counted) opts.metrics.openWebSockets.add(-1);
    counted = false;
  };
  socket.onerror = () => {};
  socket.onmessage = async (ev) => {
    if (typeof ev.data !== "string") {
      socket.close(1003, "Only text (JSON) frames are accepted");
      return;
    }
    if (ev.data.length > opts.maxFrameBytes) {
      socket.close(1009, `Frame larger than ${opts.maxFrameBytes} bytes`);
      return;
    }
    if (!opts.onFrame) {
      sendFrame(socket, { type: "error", status: 400, title: "This socket only sends" });
      return;
    }
    if (inFlight >= (opts.maxInFlight ?? Infinity)) {
      sendFrame(socket, {
        type: "error",
        id: frameIdOf(ev.data),
        problem: {
          type: "tag:syncgate,2026:too-many-frames-in-flight",
          title: "Too many frames in flight",
          status: 429,
          detail: `At most ${opts.maxInFlight} frames of one socket are handled at once, and ` +
            `${opts.maxInFlight} are; send this one again once some are answered`,
        },
      });
      return;
    }
    inFlight++;
    try {
      await opts.onFrame(socket, ev.data);
    } catch (e) {
      // A frame handler answers its own errors; one that throws is a bug.
      opts.log?.error("A WebSocket frame handler failed; closing the socket with 1011", {
        channel: opts.channel,
        error: e instanceof Error ? e.message : String(e),
        stack: e instanceof Error ? e.stack : undefined,
      });
      if (socket.readyState === WebSocket.OPEN) socket.close(1011, "Internal error");
    } finally {
      inFlight--;
    }
  };
  return response;
}

/** A parsed frame's `id`, when it has a usable one (a string of ≤ 128 characters). */
export function frameId(raw: unknown): string | undefined {
  const id = (raw as { id?: unknown } | null)?.id;
  return typeof id === "string" && id.length <= 128 ? id : undefined;
}

/** The `id` of a frame's text, if it is JSON with one (for answering a frame not handled). */
function frameIdOf(text: string): string | undefined {
  try {
    return frameId(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** Sends a JSON frame unless the socket has closed meanwhile. */
export function sendFrame(ws: WebSocket, frame: Record<string, unknown>): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
}

const encoder = new TextEncoder();

/**
 * A text/event-stream of live events (`event: message`), with a keep-alive
 * comment every 15 s. The stream's own queue is the transport's window: its
 * pull says when Deno has taken from it, and the hub hands it more.
 */
export function liveSse(opts: LiveOptions): Response {
  const window = Math.min(DEFAULT_WINDOW_BYTES, opts.bufferBytes);
  let sub: Subscription | undefined;
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  const stop = () => {
    sub?.unsubscribe();
    clearInterval(keepAlive);
  };
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(": connected\n\n"));
      const queued = () => Math.max(0, window - (controller.desiredSize ?? window));
      sub = opts.hub.subscribe(opts.channel, {
        matches: opts.matches,
        buffered: queued,
        send: (e) => {
          try {
            controller.enqueue(encoder.encode(`event: message\ndata: ${e.json}\n\n`));
          } catch { /* cancelled meanwhile */ }
        },
        close: (reason) => {
          try {
            controller.enqueue(
              encoder.encode(`event: error\ndata: ${JSON.stringify({ reason })}\n\n`),
            );
            controller.close();
          } catch { /* already closed */ }
          stop();
        },
      }, { maxBytes: opts.bufferBytes, windowBytes: window });
      keepAlive = setInterval(() => {
        // Only an idle stream needs one; a stalled one would just queue it.
        if (queued() > 0) return;
        try {
          controller.enqueue(encoder.encode(": keep-alive\n\n"));
        } catch {
          stop();
        }
      }, 15_000);
    },
    pull: () => sub?.flush(),
    cancel: stop,
  }, new ByteLengthQueuingStrategy({ highWaterMark: window }));
  return new Response(stream, {
    headers: {
      "content-type": "text/event-stream",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
  });
}
