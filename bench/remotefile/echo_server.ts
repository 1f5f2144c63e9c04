/**
 * The raw TCP echo the RemoteFile rows are compared with: every byte a
 * client sends comes straight back, as read (no parsing). With `--frames`
 * it is a ceiling instead: it reads the stream as the gateway does, through
 * the house's PeerConnection with buffered reads (FrameReader, the
 * NumHeader32 framing of protocols/remotefile/), and echoes the messages
 * back in one socket write per event-loop turn. With `--buffered`, the
 * same echo, but cutting messages out of each socket read (up to 64 KiB)
 * with the sans-I/O MessageReader of protocols/remotefile/framing.ts: the
 * reader with no per-message promise. Prints
 * `listening on tcp://127.0.0.1:PORT` when ready; runs until killed.
 * Usage: `deno run --allow-net echo_server.ts [--frames | --buffered]`.
 */
import { encodeMessage, MessageReader } from "../../protocols/remotefile/framing.ts";
import { numHeaderFrame } from "../../protocols/remotefile/num_header.ts";
import { PeerConnection } from "../../services/peer_connection.ts";

const mode = Deno.args.includes("--frames")
  ? "frames"
  : Deno.args.includes("--buffered")
  ? "buffered"
  : "raw";
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
console.log(`listening on tcp://127.0.0.1:${listener.addr.port}`);

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) done += await conn.write(bytes.subarray(done));
}

async function echo(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  while (true) {
    const n = await conn.read(buf);
    if (n === null) break;
    await writeAll(conn, buf.subarray(0, n));
  }
}

/** Reads whole messages as the gateway's links do; echoes them, batched per turn. */
async function echoFrames(raw: Deno.Conn): Promise<void> {
  const conn = await PeerConnection.accept(raw, {
    frameHeader: numHeaderFrame(32),
    maxFrameBytes: 1 << 20,
    bufferedReads: true, // as the gateway's RemoteFile links read
  });
  let out: Uint8Array[] = [];
  let flushing: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    flushing = undefined;
    const parts = out;
    out = [];
    const all = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) all.set(p, (at += p.length) - p.length);
    void conn.write(all).catch(() => {});
  };
  for await (const f of conn.frames()) {
    out.push(f.header, f.body);
    flushing ??= setTimeout(flush, 0);
  }
}

/** Reads what the socket has and cuts messages out with MessageReader; echoes them per read. */
async function echoBuffered(conn: Deno.Conn): Promise<void> {
  const reader = new MessageReader({ maxMessageBytes: 1 << 20 });
  const buf = new Uint8Array(64 * 1024);
  while (true) {
    const n = await conn.read(buf);
    if (n === null) break;
    const out = reader.push(buf.slice(0, n)).map((body) => encodeMessage(body));
    const all = new Uint8Array(out.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of out) all.set(p, (at += p.length) - p.length);
    await writeAll(conn, all);
  }
}

for await (const conn of listener) {
  conn.setNoDelay(true);
  const serve = mode === "frames" ? echoFrames : mode === "buffered" ? echoBuffered : echo;
  void serve(conn).catch(() => {}).finally(() => {
    try {
      conn.close();
    } catch { /* closed */ }
  });
}
