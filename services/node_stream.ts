/**
 * Adapters between Deno's and node's streams: node:tls runs over a node
 * Duplex, and our frame reader reads a Web ReadableStream. Either way
 * failures end the stream rather than throw at an event emitter with no one
 * listening.
 *
 * @example
 * ```ts
 * const tlsSocket = tls.connect({ socket: duplexOf(conn) });
 * const frames = new FrameReader(readableOf(tlsSocket), { header, maxFrameBytes });
 * ```
 */
import { Duplex } from "node:stream";

/** A node Duplex over a Deno connection, for node:tls to run on. */
export function duplexOf(conn: Deno.Conn): Duplex {
  const reader = conn.readable.getReader();
  const writer = conn.writable.getWriter();
  const duplex = new Duplex({
    read() {
      reader.read().then(
        ({ value, done }) => this.push(done ? null : value),
        (e) => this.destroy(e),
      );
    },
    write(chunk, _encoding, callback) {
      writer.write(chunk).then(() => callback(), callback);
    },
    final(callback) {
      writer.close().then(() => callback(), callback);
    },
    destroy(error, callback) {
      try {
        conn.close();
      } catch { /* already closed */ }
      callback(error);
    },
  });
  // Failures reach the TLS socket as its close; an 'error' with no listener would crash.
  duplex.on("error", () => {});
  return duplex;
}

/**
 * A Web ReadableStream of a node socket's data, with backpressure: the socket
 * is paused while the stream's queue holds `highWaterMark` bytes.
 */
export function readableOf(socket: Duplex, highWaterMark = 65_536): ReadableStream<Uint8Array> {
  let done = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      socket.pause();
      socket.on("data", (chunk: Uint8Array) => {
        if (done) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) socket.pause();
      });
      const end = (error?: unknown) => {
        if (done) return;
        done = true;
        if (error) controller.error(error);
        else controller.close();
      };
      socket.once("end", () => end());
      socket.once("error", (e) => end(e));
      socket.once("close", () => end());
      // A socket with nothing buffered can end before anyone listens.
      if (socket.readableEnded || socket.destroyed) end(socket.errored ?? undefined);
    },
    pull() {
      socket.resume();
    },
    cancel() {
      done = true;
      socket.destroy();
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark }));
}
