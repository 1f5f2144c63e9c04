/**
 * The WebSocket ceiling of the peer → WebSocket row: a plain `Deno.serve`
 * WebSocket that, for a text frame `{"n":N,"frame":"…","window":W}` from its
 * client, sends `frame` N times, one `send()` each, as the live hub sends
 * events: with `window` 0 all at once, else at most `window` bytes of
 * `bufferedAmount` at a time, looking again on the next turn of the event
 * loop (the hub's transport window is 16 KiB). Prints `listening on URL`;
 * runs until killed. Usage: `deno run --allow-net ws_server.ts`.
 */
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.onmessage = async (e) => {
    const { n, frame, window } = JSON.parse(e.data) as { n: number; frame: string; window: number };
    let i = 0;
    while (i < n && socket.readyState === WebSocket.OPEN) {
      while (i < n && (window === 0 || socket.bufferedAmount < window)) {
        socket.send(frame);
        i++;
      }
      await new Promise((r) => setTimeout(r, 0));
    }
  };
  return response;
});
console.log(`listening on http://127.0.0.1:${server.addr.port}`);
