/**
 * A no-op HTTP server for the HTTP-floor rows (started by server.ts
 * startNoopServer): reads each body and answers `{"ok":true}`; prints
 * `listening on URL` when ready and runs until killed.
 */
const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: () => {} },
  async (req) => {
    await req.arrayBuffer();
    return new Response('{"ok":true}', { headers: { "content-type": "application/json" } });
  },
);
console.log(`listening on http://127.0.0.1:${server.addr.port}`);
