/**
 * The bench's RemoteFile peer, over real TCP to the gateway's listener: it
 * greets (NumHeader32), offers a data file (FILE_INFO), waits for the
 * gateway's FILE_OPEN and writes the file whole; then it writes deltas as
 * given (pre-framed bytes, any number of frames per socket write). It
 * opens every file the gateway offers and hands each write it receives
 * (address, data) to `onWrite`, as it reads them off the socket. Frames
 * are built with the sans-I/O codec in protocols/remotefile/.
 */
import {
  type Command,
  decodeCommand,
  encodeCommand,
  encodeFileInfos,
  type FileInfo,
} from "../../protocols/remotefile/commands.ts";
import { encodeMessage, MessageReader } from "../../protocols/remotefile/framing.ts";
import { buildGreeting } from "../../protocols/remotefile/greeting.ts";
import {
  decodeWriteMessage,
  encodeWriteMessage,
} from "../../protocols/remotefile/write_message.ts";
import { CONTROL_AREA_START } from "../../protocols/remotefile/address.ts";

/** A write message, framed (NumHeader32 + address header + data). */
export function writeFrame(address: number, data: Uint8Array): Uint8Array {
  return encodeMessage(encodeWriteMessage({ address, data }));
}

/** A control command, framed. */
export function controlFrame(cmd: Command | Uint8Array): Uint8Array {
  const data = cmd instanceof Uint8Array ? cmd : encodeCommand(cmd);
  return encodeMessage(encodeWriteMessage({ address: CONTROL_AREA_START, data }));
}

/** Waits for a condition that `wake()` may have made true, up to `ms`. */
class Waiters {
  #list: (() => void)[] = [];
  wake(): void {
    const l = this.#list;
    this.#list = [];
    for (const f of l) f();
  }
  async until(cond: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = performance.now() + ms;
    while (!cond()) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`Timed out waiting for ${what}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        new Promise<void>((r) => this.#list.push(r)),
        new Promise<void>((r) => timer = setTimeout(r, left)),
      ]);
      clearTimeout(timer);
    }
  }
}

export class BenchPeer {
  readonly #reader = new MessageReader({ maxMessageBytes: 64 << 20 });
  readonly #waiters = new Waiters();
  /** Files the gateway offered (by address), and which of them it has written whole. */
  readonly offered = new Map<number, FileInfo>();
  readonly opened = new Set<number>();
  readonly wholeWritten = new Set<number>();
  acked = false;
  #closed = false;
  /** Called for each write the gateway sends (not control commands), as read. */
  onWrite: (address: number, data: Uint8Array) => void = () => {};
  readonly ended: Promise<void>;

  private constructor(readonly conn: Deno.TcpConn) {
    conn.setNoDelay(true);
    this.ended = this.#readLoop();
  }

  static async connect(port: number): Promise<BenchPeer> {
    return new BenchPeer(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** The local port: the gateway lists the connection as `tcp 127.0.0.1:<port>`. */
  get localPort(): number {
    return this.conn.localAddr.port;
  }

  async #readLoop(): Promise<void> {
    try {
      for await (const chunk of this.conn.readable) {
        this.#reader.feed(chunk);
        for (let body = this.#reader.next(); body !== null; body = this.#reader.next()) {
          const w = decodeWriteMessage(body);
          if (w.address >= CONTROL_AREA_START) await this.#command(decodeCommand(w.data));
          else this.#data(w.address, w.data);
        }
        this.#waiters.wake();
      }
    } catch (e) {
      if (!this.#closed) console.error(`bench peer: ${e}`);
    }
    this.#closed = true;
    this.#waiters.wake();
  }

  async #command(cmd: Command): Promise<void> {
    if (cmd.type === "ack") this.acked = true;
    else if (cmd.type === "fileInfo") {
      for (const f of cmd.files) {
        this.offered.set(f.address, f);
        await this.send(controlFrame({ type: "fileOpen", address: f.address }));
        this.opened.add(f.address);
      }
    } else if (cmd.type === "fileOpen") {
      this.#openedByGateway.push(cmd.address);
    }
  }

  #openedByGateway: number[] = [];

  #data(address: number, data: Uint8Array): void {
    for (const [start, f] of this.offered) {
      if (address === start && data.length === f.size) this.wholeWritten.add(start);
    }
    this.onWrite(address, data);
  }

  /** Writes bytes whole. */
  async send(bytes: Uint8Array): Promise<void> {
    for (let done = 0; done < bytes.length;) done += await this.conn.write(bytes.subarray(done));
  }

  /** Greets with NumHeader32 and waits for the gateway's ACK. */
  async greet(): Promise<void> {
    await this.send(encodeMessage(buildGreeting({ numHeaderFormat: 32 })));
    await this.#waiters.until(() => this.acked, 5000, "the gateway's ACK");
  }

  /** Offers a file, waits for the gateway to open it, then writes it whole. */
  async offer(file: FileInfo, data: Uint8Array): Promise<void> {
    await this.send(controlFrame(encodeFileInfos([file])));
    await this.#waiters.until(
      () => this.#openedByGateway.includes(file.address),
      5000,
      `FILE_OPEN of ${file.name}`,
    );
    await this.send(writeFrame(file.address, data));
  }

  /** Waits until the gateway offered `name` and wrote it whole (we open every file offered). */
  async gatewayFile(name: string): Promise<FileInfo> {
    let found: FileInfo | undefined;
    await this.#waiters.until(
      () => {
        found = [...this.offered.values()].find((f) => f.name === name);
        return found !== undefined && this.wholeWritten.has(found.address);
      },
      5000,
      `the gateway's file ${name}, written whole`,
    );
    return found!;
  }

  close(): void {
    this.#closed = true;
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}
