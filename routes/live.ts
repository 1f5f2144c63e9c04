/**
 * WebSocket and SSE ends of the live hub, for any protocol's channel. Both
 * send the same JSON frames; both close a subscriber that falls behind
 * (more than `bufferBytes` waiting) with a reason instead of buffering more.
 */
import type { Context } from "hono";

import type { Metrics } from "../lib/metrics.ts";
import type { LiveEvent, LiveHub } from "../services/live_hub.ts";

/** WebSocket close code for a subscriber that fell behind (private range). */
export const CLOSE_SLOW_CONSUMER = 4008;

export interface LiveOptions {
  hub: LiveHub;
  metrics: Metrics;
  channel: string;
  matches: (e: LiveEvent) => boolean;
  bufferBytes: number;
}

/** Frames a WebSocket client sent; the handler answers with a frame or nothing. */
export type FrameHandler = (ws: WebSocket, text: string) => Promise<void> | void;

/**
 * Upgrades to a WebSocket that receives live events and, when `onFrame` is
 * given, accepts frames from the client (frames over `maxFrameBytes` close
 * the socket with 1009; past `maxInFlight` frames being handled at once, a
 * frame is answered with a 503 Busy error frame and not handled).
 */
export function liveWebSocket(
  c: Context,
  opts: LiveOptions & { onFrame?: FrameHandler; maxFrameBytes: number; maxInFlight?: number },
): Response {
  const { socket, response } = Deno.upgradeWebSocket(c.req.raw, { idleTimeout: 60 });
  let unsubscribe = () => {};
  let counted = false;
  let inFlight = 0;
  socket.onopen = () => {
    counted = true;
    opts.metrics.openWebSockets.add(1);
    unsubscribe = opts.hub.subscribe(opts.channel, {
      matches: opts.matches,
      deliver: (e) => {
        if (socket.readyState !== WebSocket.OPEN) return true;
        if (socket.bufferedAmount > opts.bufferBytes) return false;
        socket.send(e.json);
        return true;
      },
      close: (reason) => socket.close(CLOSE_SLOW_CONSUMER, reason.slice(0, 120)),
    });
  };
  socket.onclose = () => {
    unsubscribe();
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
          type: "tag:syncgate,2026:busy",
          title: "Busy",
          status: 503,
          detail:
            `${opts.maxInFlight} frames of this socket are being handled; send this one again ` +
            "once some are answered",
        },
      });
      return;
    }
    inFlight++;
    try {
      await opts.onFrame(socket, ev.data);
    } catch {
      // A frame handler answers its own errors; one that throws is a bug.
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

/** A text/event-stream of live events (`event: message`), with a keep-alive comment every 15 s. */
export function liveSse(opts: LiveOptions): Response {
  let unsubscribe = () => {};
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  const stop = () => {
    unsubscribe();
    clearInterval(keepAlive);
  };
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(": connected\n\n"));
      unsubscribe = opts.hub.subscribe(opts.channel, {
        matches: opts.matches,
        deliver: (e) => {
          if ((controller.desiredSize ?? 0) <= 0) return false;
          controller.enqueue(encoder.encode(`event: message\ndata: ${e.json}\n\n`));
          return true;
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
      });
      keepAlive = setInterval(() => {
        try {
          controller.enqueue(encoder.encode(": keep-alive\n\n"));
        } catch {
          stop();
        }
      }, 15_000);
    },
    cancel: stop,
  }, new ByteLengthQueuingStrategy({ highWaterMark: opts.bufferBytes }));
  return new Response(stream, {
    headers: {
      "content-type": "text/event-stream",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
  });
}
