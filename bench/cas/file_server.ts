/**
 * The static file route the CAS GET rows are compared with: a plain
 * `Deno.serve` that answers `GET /<name>` with the file `<dir>/<name>`,
 * streamed from disk. Prints `listening on URL` when ready; runs until
 * killed. Usage: `deno run --allow-net --allow-read file_server.ts <dir>`.
 */
const dir = Deno.args[0];
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
  const name = new URL(req.url).pathname.slice(1);
  if (!/^[\w.-]+$/.test(name)) return new Response("bad name", { status: 400 });
  const file = await Deno.open(`${dir}/${name}`, { read: true });
  const { size } = await file.stat();
  return new Response(file.readable, {
    headers: { "content-type": "application/octet-stream", "content-length": String(size) },
  });
});
console.log(`listening on http://127.0.0.1:${server.addr.port}`);
