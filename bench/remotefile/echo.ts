/**
 * The raw TCP echo baseline: bench/remotefile/echo_server.ts in a process
 * of its own (through `sh`, which `deno task bench:remotefile` may run),
 * and a client that sends it the same frames the gateway rows send and
 * reads them back as RemoteFile messages (NumHeader32 framing, write
 * message decoded), handing each one's delta to `onDelta`.
 */
import { MessageReader } from "../../protocols/remotefile/framing.ts";
import { decodeWriteMessage } from "../../protocols/remotefile/write_message.ts";
import { cpuOf } from "../harness/cpu.ts";
import type { CpuSource } from "../harness/cpu.ts";
import { seqOf } from "./deltas.ts";

const VIA_SH = ["sh", "-c", 'exec "$@"', "sh"];

/** A bench server of this directory in its own process: where it listens, its CPU, and stop. */
export interface ScriptServer extends CpuSource {
  /** What it printed after `listening on `. */
  url: string;
  close(): Promise<void>;
}

/** Runs `name` (a script of this directory) with `--allow-net` and `args`, once it listens. */
export async function startScript(name: string, args: string[] = []): Promise<ScriptServer> {
  const script = new URL(name, import.meta.url).pathname;
  const child = new Deno.Command(VIA_SH[0], {
    args: [...VIA_SH.slice(1), Deno.execPath(), "run", "--allow-net", script, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const ready = /listening on (\S+)\n/;
  while (!ready.test(text)) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`${name} exited before listening: ${text}`);
    text += value;
  }
  lines.releaseLock();
  child.stdout.cancel().catch(() => {});
  return {
    url: ready.exec(text)![1],
    separate: true,
    cpu: () => cpuOf(child.pid),
    close: async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
    },
  };
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
