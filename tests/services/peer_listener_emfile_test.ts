/**
 * A listener out of file descriptors keeps going, for real: the listener runs
 * in a child process under `ulimit -n 64`; we hold more connections than it
 * can open, so its accept() fails with EMFILE; once we let them go it must
 * accept and serve again, alive, with the failures in its metrics.
 */
import assert from "node:assert/strict";
import { lengthPrefix } from "../../lib/frame_header.ts";
import { type PeerAddress, PeerConnection } from "../../services/peer_connection.ts";
import { tempDir } from "../helpers.ts";
import { makeIdentity } from "./tls_identity.ts";

const CHILD = new URL("./listener_child.ts", import.meta.url).pathname;
const FD_LIMIT = 64;
const u32 = lengthPrefix({ size: 4 });

/** Lines of a child's output as they come. */
async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    for (let i = buffered.indexOf("\n"); i >= 0; i = buffered.indexOf("\n")) {
      yield buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
    }
  }
}

for (const mode of ["tcp", "unix", "tls"] as const) {
  Deno.test(`a ${mode} listener keeps accepting after running out of file descriptors`, async () => {
    const { dir, cleanup } = await tempDir();
    const id = await makeIdentity(dir, "child");
    await Deno.writeTextFile(`${dir}/child.crt`, id.cert);
    await Deno.writeTextFile(`${dir}/child.key`, id.key);
    const args = [mode, `${dir}/peer.sock`, `${dir}/child.crt`, `${dir}/child.key`];
    const quoted = args.map((a) => `'${a}'`).join(" ");
    const child = new Deno.Command("sh", {
      args: [
        "-c",
        `ulimit -n ${FD_LIMIT} && exec '${Deno.execPath()}' run -A '${CHILD}' ${quoted}`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stdout = lines(child.stdout);
    const stderr = lines(child.stderr);
    const held: Deno.Conn[] = [];
    try {
      const address: PeerAddress = JSON.parse((await stdout.next()).value!);
      const raw = () =>
        address.transport === "unix"
          ? Deno.connect({ transport: "unix", path: address.path })
          : Deno.connect({ hostname: address.hostname, port: address.port });
      // More connections than the child has descriptors: it accepts until EMFILE.
      for (let i = 0; i < FD_LIMIT + 40; i++) held.push(await raw());
      for (;;) {
        const line = await stderr.next();
        assert.ok(!line.done, "the child ended instead of reporting the failed accept");
        if (line.value.includes("failed to accept")) {
          assert.match(line.value, /Too many open files|EMFILE/);
          break;
        }
      }
      for (const c of held.splice(0)) c.close();

      // It serves a new peer, over TLS too.
      const tls = mode === "tls" ? { cert: id.cert, key: id.key } : undefined;
      const conn = await PeerConnection.connect({
        address,
        tls,
        connectTimeoutMs: 30_000,
        idleTimeoutMs: 30_000, // a listener that stopped accepting fails the test, not hangs it
        frameHeader: u32,
        maxFrameBytes: 1 << 20,
      });
      const ask = async (text: string) => {
        const body = new TextEncoder().encode(text);
        await conn.write(u32.encode(body.length), body);
        return new TextDecoder().decode((await conn.readFrame())!.body);
      };
      assert.equal(await ask("still there?"), "still there?");
      const metrics = await ask("metrics");
      const value = (name: string) =>
        Number(metrics.match(new RegExp(`^${name} (\\d+)$`, "m"))?.[1] ?? NaN);
      assert.ok(value(`syncgate_peer_accept_errors_total\\{listener="child"\\}`) >= 1);
      assert.ok(
        value(`syncgate_peer_connections_total\\{listener="child",outcome="accepted"\\}`) >
          FD_LIMIT / 2,
      );
      conn.close();

      child.kill("SIGTERM");
      const status = await child.status;
      assert.equal(status.code, 0, "alive until told to stop, then stopped cleanly");
    } finally {
      for (const c of held) c.close();
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
      await Promise.all([stdout.return(undefined), stderr.return(undefined)]);
      await child.stdout.cancel().catch(() => {});
      await child.stderr.cancel().catch(() => {});
      await cleanup();
    }
  });
}
