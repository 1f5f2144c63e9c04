/**
 * Live subscribers over raw TCP, for tests where a client must misbehave:
 * they complete the upgrade (or read the SSE answer's head) and then read
 * nothing until the test says so.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A raw connection and the bytes read past the answer's head. */
export interface RawSubscriber {
  conn: Deno.TcpConn;
  rest: Uint8Array;
}

/** Sends a GET and reads the answer's head; returns its status line and what followed. */
async function get(port: number, path: string, fields: string): Promise<RawSubscriber> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(encoder.encode(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${fields}\r\n`));
  let head: Uint8Array = new Uint8Array(0);
  for (;;) {
    const end = decoder.decode(head).indexOf("\r\n\r\n");
    if (end >= 0) {
      const text = decoder.decode(head.subarray(0, end));
      if (!/^HTTP\/1.1 (101|200)/.test(text)) throw new Error(`Not subscribed: ${text}`);
      return { conn, rest: head.subarray(end + 4) };
    }
    const chunk = new Uint8Array(4096);
    const n = await conn.read(chunk);
    if (n === null) throw new Error("Connection ended before the answer's head");
    head = concat(head, chunk.subarray(0, n));
  }
}

/** A WebSocket subscriber that reads nothing after the 101. */
export function stalledWebSocket(port: number, path: string): Promise<RawSubscriber> {
  return get(
    port,
    path,
    `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${btoa("0123456789abcdef")}` +
      `\r\nSec-WebSocket-Version: 13\r\n`,
  );
}

/** An SSE subscriber that reads nothing after the answer's head. */
export function stalledEventStream(port: number, path: string): Promise<RawSubscriber> {
  return get(port, path, "Accept: text/event-stream\r\n");
}

/** Reads server frames (RFC 6455, unmasked) until a close frame; returns its code and reason. */
export async function readUntilClose(
  sub: RawSubscriber,
): Promise<{ code: number; reason: string }> {
  let buf: Uint8Array = sub.rest;
  const more = async () => {
    const chunk = new Uint8Array(65536);
    const n = await sub.conn.read(chunk);
    if (n === null) throw new Error("connection ended without a close frame");
    buf = concat(buf, chunk.subarray(0, n));
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
      return { code: (payload[0] << 8) | payload[1], reason: decoder.decode(payload.subarray(2)) };
    }
    buf = buf.subarray(off + len);
  }
}

/**
 * Reads an event stream until its `event: error` and the end of the answer
 * (the last chunk); returns the error's data.
 */
export async function readUntilStreamError(sub: RawSubscriber): Promise<unknown> {
  let text = decoder.decode(sub.rest, { stream: true });
  const chunk = new Uint8Array(65536);
  let error: unknown;
  for (;;) {
    const m = /event: error\ndata: (\{[^\n]*\})\n/.exec(text);
    if (m) error ??= JSON.parse(m[1]);
    if (error !== undefined && /\r\n0\r\n\r\n$/.test(text)) return error;
    const n = await sub.conn.read(chunk);
    if (n === null) {
      if (error !== undefined) return error;
      throw new Error("stream ended without an error event");
    }
    text = (text + decoder.decode(chunk.subarray(0, n), { stream: true })).slice(-8192);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
