/**
 * The raw TCP echo baseline: bench/remotefile/echo_server.ts in a process
 * of its own (through `sh`, which `deno task bench:remotefile` may run),
 * and a client that sends it the same frames the gateway rows send and
 * reads them back as RemoteFile messages (NumHeader32 framing, write
 * message decoded), handing each one's delta to `onDelta`.
 */
import { MessageReader } from "../../protocols/remotefile/framing.ts";
import { decodeWriteMessage } from "../../protocols/remotefile/write_message.ts";
import { type Server, startScriptServer } from "../harness/server.ts";
import { seqOf } from "./deltas.ts";

/** A bench server of this directory in its own process: where it listens, its CPU, and stop. */
export type ScriptServer = Server;

/** Runs `name` (a script of this directory) with `--allow-net` and `args`, once it listens. */
export function startScript(name: string, args: string[] = []): Promise<ScriptServer> {
  return startScriptServer(new URL(name, import.meta.url).pathname, ["--allow-net"], args);
}

/**
 * The echo server: `raw`, or reading messages through the gateway's FrameReader (`frames`),
 * or cut from buffered reads by MessageReader (`buffered`).
 */
export async function startEchoServer(
  mode: "raw" | "frames" | "buffered" = "raw",
): Promise<ScriptServer & { port: number }> {
  const s = await startScript("./echo_server.ts", mode === "raw" ? [] : [`--${mode}`]);
  return { ...s, port: Number(new URL(s.url).port) };
}

/** A connection to the echo server that reads the echoed frames' deltas. */
export class EchoClient {
  readonly #reader = new MessageReader({ maxMessageBytes: 1 << 20 });
  onDelta: (seq: number) => void = () => {};
  readonly ended: Promise<void>;

  private constructor(readonly conn: Deno.TcpConn) {
    conn.setNoDelay(true);
    this.ended = this.#readLoop();
  }

  static async connect(port: number): Promise<EchoClient> {
    return new EchoClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async #readLoop(): Promise<void> {
    try {
      for await (const chunk of this.conn.readable) {
        this.#reader.feed(chunk);
        for (let body = this.#reader.next(); body !== null; body = this.#reader.next()) {
          this.onDelta(seqOf(decodeWriteMessage(body).data));
        }
      }
    } catch { /* closed */ }
  }

  async send(bytes: Uint8Array): Promise<void> {
    for (let done = 0; done < bytes.length;) done += await this.conn.write(bytes.subarray(done));
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}
