/**
 * A RemoteFile peer for tests, over real TCP: it writes bytes as the spec
 * lays them out (built with the protocol codecs, or given literally) in
 * pieces of any size, and reads what the gateway sends as NumHeader32
 * messages, each decoded into its address header, data and (for the
 * control area) command.
 */
import { concat } from "../../lib/bytes.ts";
import {
  type Command,
  decodeCommand,
  encodeCommand,
  encodeFileInfos,
  type FileInfo,
} from "../../protocols/remotefile/commands.ts";
import { encodeMessage, MessageReader } from "../../protocols/remotefile/framing.ts";
import {
  decodeWriteMessage,
  encodeWriteMessage,
} from "../../protocols/remotefile/write_message.ts";

/** Parsed JSON from the gateway, read loosely by the tests. */
// deno-lint-ignore no-explicit-any
export type Json = any;

export const CONTROL = 0x3ffffc00;
/** The reference client's greeting, framed: 0x1e then the text. */
export const GREETING = encodeMessage(
  new TextEncoder().encode("RMFP/1.0\nNumHeader-Format:32\n\n"),
);
/** The reference server's ACK to a greeting, byte by byte (NumHeader 8, high address, cmd 0). */
export const ACK_HEX = "08bffffc0000000000";

/** One message the gateway sent. */
export interface Received {
  /** The whole message as it came, NumHeader included. */
  raw: Uint8Array;
  address: number;
  more: boolean;
  data: Uint8Array;
  /** For a write to the control area. */
  command?: Command;
}

export class TestPeer {
  readonly #reader = new MessageReader({ maxMessageBytes: 64 << 20 });
  readonly #queue: Received[] = [];
  #waiters: (() => void)[] = [];
  /** Resolves when the gateway closed the connection (or it failed). */
  readonly ended: Promise<void>;

  constructor(readonly conn: Deno.Conn) {
    this.ended = this.#readLoop();
  }

  static async connect(port: number): Promise<TestPeer> {
    return new TestPeer(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async #readLoop(): Promise<void> {
    try {
      for await (const chunk of this.conn.readable) {
        for (const body of this.#reader.push(chunk)) {
          const w = decodeWriteMessage(body);
          const msg: Received = {
            raw: encodeMessage(body),
            address: w.address,
            more: w.more,
            data: w.data.slice(),
          };
          if (w.address === CONTROL) msg.command = decodeCommand(w.data);
          this.#queue.push(msg);
        }
        this.#wake();
      }
    } catch { /* closed */ }
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Writes bytes, split at the given lengths (the rest in one piece), a tick apart. */
  async send(bytes: Uint8Array, pieces: number[] = []): Promise<void> {
    let at = 0;
    for (const n of [...pieces, bytes.length]) {
      const part = bytes.subarray(at, Math.min(bytes.length, at + n));
      at += part.length;
      if (part.length) await this.conn.write(part);
      if (at >= bytes.length) break;
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Frames a control command (NumHeader32, high address 0x3FFFFC00). */
  static control(cmd: Command | Uint8Array): Uint8Array {
    const data = cmd instanceof Uint8Array ? cmd : encodeCommand(cmd);
    return encodeMessage(encodeWriteMessage({ address: CONTROL, data }));
  }

  /** Frames a write. */
  static write(address: number, data: Uint8Array, more = false): Uint8Array {
    return encodeMessage(encodeWriteMessage({ address, data, more }));
  }

  sendCommand(cmd: Command): Promise<void> {
    return this.send(TestPeer.control(cmd));
  }

  sendFileInfo(...files: FileInfo[]): Promise<void> {
    return this.send(TestPeer.control(encodeFileInfos(files)));
  }

  sendWrite(address: number, data: Uint8Array, pieces?: number[]): Promise<void> {
    return this.send(TestPeer.write(address, data), pieces);
  }

  /** The next message, waiting up to `ms`. */
  async next(ms = 3000): Promise<Received> {
    const deadline = Date.now() + ms;
    while (this.#queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`No message from the gateway within ${ms} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        new Promise<void>((r) => this.#waiters.push(r)),
        new Promise<void>((r) => timer = setTimeout(r, left)),
      ]);
      clearTimeout(timer);
      if (this.#queue.length === 0 && await isSettled(this.ended)) {
        throw new Error("The gateway closed the connection");
      }
    }
    return this.#queue.shift()!;
  }

  /** The next message, which must be a command of this type. */
  async command<T extends Command["type"]>(
    type: T,
    ms?: number,
  ): Promise<Extract<Command, { type: T }>> {
    const m = await this.next(ms);
    if (m.command?.type !== type) {
      throw new Error(
        `Expected ${type}, got ${JSON.stringify(m.command ?? { address: m.address })}`,
      );
    }
    return m.command as Extract<Command, { type: T }>;
  }

  /** Whether the gateway closes the connection within `ms`. */
  async closedWithin(ms: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const r = await Promise.race([
      this.ended.then(() => true),
      new Promise<false>((res) => timer = setTimeout(() => res(false), ms)),
    ]);
    clearTimeout(timer);
    return r;
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

async function isSettled(p: Promise<void>): Promise<boolean> {
  const marker = {};
  return (await Promise.race([p.then(() => true), Promise.resolve(marker)])) === true;
}

/** A TCP listener acting as the peer's server end; `accept` gives the next connection as a TestPeer. */
export function listenPeer(): { port: number; accept(): Promise<TestPeer>; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return {
    port: listener.addr.port,
    accept: async () => new TestPeer(await listener.accept()),
    close: () => listener.close(),
  };
}

/** The listener's port, from the gateway. */
export async function listenerPort(url: string): Promise<number> {
  const [l] = await getJson(`${url}/remotefile/listeners`);
  return l.port;
}

/** A peer connected and greeted, with the gateway's id for its connection. */
export async function greetedPeer(url: string): Promise<{ peer: TestPeer; id: string }> {
  const before = new Set(
    (await getJson(`${url}/remotefile/connections`)).map((c: { id: string }) => c.id),
  );
  const peer = await TestPeer.connect(await listenerPort(url));
  await peer.send(GREETING);
  const ack = await peer.next();
  if (hex(ack.raw) !== ACK_HEX) throw new Error(`Expected the ACK, got ${hex(ack.raw)}`);
  const conn = await until(
    async () =>
      (await getJson(`${url}/remotefile/connections`)).find((c: { id: string; state: string }) =>
        !before.has(c.id) && c.state === "connected"
      ),
    3000,
    "the connection",
  );
  return { peer, id: conn.id };
}

/** Takes the gateway's next client connection: its greeting (checked literally), then an ACK. */
export async function acceptGreeted(server: ReturnType<typeof listenPeer>): Promise<TestPeer> {
  const peer = await server.accept();
  const greeting = await peer.next();
  if (hex(greeting.raw) !== hex(GREETING)) {
    throw new Error(`Not the greeting: ${hex(greeting.raw)}`);
  }
  await peer.send(new Uint8Array([0x08, 0xbf, 0xff, 0xfc, 0x00, 0, 0, 0, 0]));
  return peer;
}

/** Waits until `fn` returns a truthy value (polling), or throws after `ms`. */
export async function until<T>(
  fn: () => Promise<T> | T,
  ms = 3000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + ms;
  while (true) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Hex of concatenated parts, for literal comparisons. */
export const hex = (...parts: Uint8Array[]) => concat(parts).toHex();

/** A gateway's JSON, with the status checked. */
export async function getJson(url: string, status = 200): Promise<Json> {
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== status) throw new Error(`GET ${url}: ${res.status} ${text}`);
  return JSON.parse(text);
}

/** Sends JSON with a method; returns status and parsed body. */
export async function sendJson(
  method: string,
  url: string,
  body?: unknown,
): Promise<{ status: number; body: Json }> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Collects a connection's WebSocket events. */
export async function openEvents(
  base: string,
  id: string,
): Promise<{ events: Json[]; ws: WebSocket }> {
  const ws = new WebSocket(`${base.replace("http", "ws")}/remotefile/connections/${id}/ws`);
  const events: unknown[] = [];
  ws.onmessage = (e) => events.push(JSON.parse(e.data));
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });

  return { events: events as Json[], ws };
}
