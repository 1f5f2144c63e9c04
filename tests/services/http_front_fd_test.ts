/**
 * Out of file descriptors: a front (in a worker, and on the main thread) in
 * its own process under `ulimit -n 256` (with the gateway's permissions, so
 * it cannot read its limit and must learn it from EMFILE) takes a flood of
 * connections, stays up, answers 503 where it can, and serves again once the
 * flood is gone.
 */
import assert from "node:assert/strict";

const FIXTURE = new URL("./fixtures/front_server.ts", import.meta.url).pathname;

async function spawnFront(
  fdLimit: number,
  thread: string,
): Promise<{ url: string; child: Deno.ChildProcess; stderr: () => string }> {
  const script = `ulimit -Sn ${fdLimit} && ulimit -Hn ${fdLimit} && exec "$@"`;
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      script,
      "sh",
      Deno.execPath(),
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-write",
      FIXTURE,
    ],
    env: { FRONT_LIMITS: JSON.stringify({ headerTimeoutMs: 60_000 }), FRONT_THREAD: thread },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let err = "";
  child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (t) => void (err = (err + t).slice(-100_000)) }),
  ).catch(() => {});
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!/listening on (\S+)/.test(out)) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`Front exited before listening: ${out}${err}`);
    out += value;
  }
  lines.releaseLock();
  return { url: /listening on (\S+)/.exec(out)![1], child, stderr: () => err };
}

async function get(url: string): Promise<number | string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    await res.body?.cancel();
    return res.status;
  } catch (e) {
    return (e as Error).name;
  }
}

for (const thread of ["worker", "main"]) {
  Deno.test(`front [${thread}]: EMFILE on accept and on the upstream never ends the process`, () =>
    emfile(thread));
}

async function emfile(thread: string): Promise<void> {
  const { url, child, stderr } = await spawnFront(256, thread);
  const port = Number(new URL(url).port);
  const flood: Deno.TcpConn[] = [];
  try {
    assert.equal(await get(url), 200);
    // Twice its limit: idle connections, then a request on each of a few, which needs the
    // upstream too.
    for (let i = 0; i < 500; i++) flood.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    const req = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    const statuses: string[] = [];
    await Promise.all(
      flood.slice(0, 40).map(async (c) => {
        try {
          await c.write(req);
          const buf = new Uint8Array(512);
          const n = await Promise.race([
            c.read(buf),
            new Promise<null>((r) => setTimeout(() => r(null), 3_000)),
          ]);
          statuses.push(n ? new TextDecoder().decode(buf.subarray(0, 12)) : "no answer");
        } catch (e) {
          statuses.push((e as Error).name);
        }
      }),
    );
    if (Deno.env.get("FRONT_FD_VERBOSE")) console.log(statuses.join(" | "));
    // Each answered request was served or refused with a problem; none took the process down.
    for (const s of statuses) assert.match(s, /^HTTP\/1\.1 (200|503)|no answer|ConnectionReset/);
    const alive = await Promise.race([
      child.status.then(() => false),
      new Promise((r) => setTimeout(() => r(true), 500)),
    ]);
    assert.equal(alive, true, `front exited: ${stderr()}`);
  } finally {
    for (const c of flood) c.close();
  }
  let status: number | string = "";
  for (let i = 0; i < 50 && status !== 200; i++) {
    status = await get(url);
    if (status !== 200) await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(status, 200, `served again after the flood: ${stderr()}`);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.match(metrics, /syncgate_front_accept_errors_total\{code="EMFILE"\} [1-9]/);
  assert.doesNotMatch(stderr(), /panicked/);
  child.kill("SIGKILL");
  await child.status;
}
