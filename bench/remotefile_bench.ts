/**
 * RemoteFile / APX benchmark (issue 10): deltas per second and latency on
 * loopback, both ways through the gateway, beside a raw TCP echo of the
 * same frames in the same run, on the harness in bench/harness/.
 *
 * - peer → WebSocket: a RemoteFile peer in this process (real TCP to the
 *   gateway's listener) greets, offers a data file, waits for FILE_OPEN,
 *   writes it whole, then writes 4-byte deltas at varying offsets as fast
 *   as the socket takes them (at most `--window` not yet seen on the
 *   WebSocket); a WebSocket client on `…/{id}/ws` counts the write events.
 *   Latency: the peer's socket write → the event on the WebSocket. Also
 *   with one delta in flight. Baseline: the same frames through a raw TCP
 *   echo server (its own process), the same window.
 * - REST → peer: `PUT /remotefile/connections/{id}/files/{name}?offset=N`
 *   of a 4-byte delta into a file the gateway published and the peer
 *   opened; closed loops of `--concurrency` clients and of one. Latency:
 *   the request's start → the delta's bytes read by the peer (the
 *   response, which waits for the KV save, is reported beside it).
 *   Baseline: the same frame's round trip through the echo; ceiling: the
 *   same PUT to a no-op `Deno.serve` (HTTP and `fetch` alone).
 *
 *   deno task bench:remotefile            # 200k streamed deltas, 5,000 PUTs a row
 *   deno task bench:remotefile --quick    # a smoke run
 *   deno task bench:remotefile --help     # the options
 *
 * Targets (issue 10): ≥ 50,000 deltas/s peer → WebSocket; p99 REST write → peer < 2 ms.
 */
import { CONTROL_AREA_START } from "../protocols/remotefile/address.ts";
import {
  COMMON_OPTIONS,
  describeMachine,
  fmtMs,
  fmtN,
  fmtRate,
  log,
  numberOption,
  parseOptions,
  renderReport,
  type Result,
  type Row,
  sourceFingerprint,
  startNoopServer,
  stringOption,
  workDir,
  writeJson,
} from "./harness/mod.ts";
import { deltaFrame, seqOf } from "./remotefile/deltas.ts";
import { EchoClient, startEchoServer, startScript } from "./remotefile/echo.ts";
import { startGateway } from "./remotefile/gateway.ts";
import { BenchPeer } from "./remotefile/peer.ts";
import {
  Arrivals,
  echoTrip,
  loopRow,
  putTrip,
  streamRow,
  type Trip,
  wsCeilingRow,
} from "./remotefile/rows.ts";

const o = await parseOptions({
  ...COMMON_OPTIONS,
  deltas: numberOption("deltas streamed in the throughput rows", 200_000, 20_000),
  window: numberOption("deltas sent and not yet received, at most, in the throughput rows", 4096),
  batch: numberOption("delta frames per socket write in the throughput rows", 256),
  latencyDeltas: numberOption("deltas in the one-in-flight stream rows", 5000, 1000),
  puts: numberOption("PUTs (and echo round trips) per closed-loop row", 5000, 1000),
  concurrency: numberOption("clients of the concurrent REST row", 8),
  fileSize: numberOption("bytes of the data files (deltas land at offsets within)", 1024),
  profile: stringOption("run the gateway under --cpu-prof, writing the profile to this dir"),
});
if (o.fileSize % 4 || o.fileSize < 8 || o.fileSize > 0x4000) {
  throw new RangeError("--file-size must be a multiple of 4 from 8 to 16384");
}
const machine = describeMachine();
log(`syncgate RemoteFile benchmark — ${machine}`);
const fingerprint = await sourceFingerprint();
const work = await workDir(o.dir, o.keep);
const DATA = "bench.data"; // the peer's file, at address 0
const OURS = "bench.bin"; // the gateway's file, written by PUT
const rows: Row[] = [];
const t0 = performance.now();

const echo = await startEchoServer();
const frameEcho = await startEchoServer("frames");
const bufEcho = await startEchoServer("buffered");
const wsServer = await startScript("./ws_server.ts");
const noop = await startNoopServer();
const gw = await startGateway(await work.kv("gateway"), { profileDir: o.profile });
const echoClient = await EchoClient.connect(echo.port);
const frameEchoClient = await EchoClient.connect(frameEcho.port);
const bufEchoClient = await EchoClient.connect(bufEcho.port);
const peer = await BenchPeer.connect(gw.remoteFilePort);
let ws: WebSocket | undefined;
log(`gateway at ${gw.url}, RemoteFile listener on ${gw.remoteFilePort}, echo on ${echo.port}`);
try {
  // ---- setup: greet, find the connection, subscribe, offer our data file, get the gateway's ----
  await peer.greet();
  const conns = await (await fetch(`${gw.url}/remotefile/connections`)).json() as {
    id: string;
    peer: string;
    state: string;
  }[];
  const conn = conns.find((c) => c.peer === `tcp 127.0.0.1:${peer.localPort}`);
  if (conn?.state !== "connected") throw new Error(`No connection: ${JSON.stringify(conns)}`);
  const base = `${gw.url}/remotefile/connections/${conn.id}`;
  ws = new WebSocket(`${base.replace("http", "ws")}/ws`);
  let onDelta: (seq: number) => void = () => {};
  let wholeSeen = false;
  ws.onmessage = (e) => {
    const ev = JSON.parse(e.data);
    if (ev.type !== "write" || ev.name !== DATA) return;
    if (ev.size === 4) onDelta(seqOf(Uint8Array.fromBase64(ev.data)));
    else if (ev.size === o.fileSize) wholeSeen = true;
  };
  const wsClosed = new Promise<CloseEvent>((r) => ws!.onclose = r);
  wsClosed.then((e) => log(`the WebSocket closed: ${e.code} ${e.reason}`));
  await new Promise((resolve, reject) => {
    ws!.onopen = resolve;
    ws!.onerror = reject;
  });
  await peer.offer({ name: DATA, address: 0, size: o.fileSize }, new Uint8Array(o.fileSize));
  const deadline = performance.now() + 5000;
  while (!wholeSeen) {
    if (performance.now() > deadline) throw new Error("The whole-file write event never came");
    await new Promise((r) => setTimeout(r, 5));
  }
  const pub = await fetch(`${base}/files`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      name: OURS,
      size: o.fileSize,
      data: new Uint8Array(o.fileSize).toBase64(),
    }),
  });
  if (pub.status !== 201) throw new Error(`Publishing ${OURS}: ${pub.status} ${await pub.text()}`);
  const ours = await peer.gatewayFile(OURS);
  if (ours.address + o.fileSize > CONTROL_AREA_START) throw new Error("bad address");
  log(`connection ${conn.id}: the peer's ${DATA} mirrored, the gateway's ${OURS} opened`);

  // ---- peer → WebSocket, and the same frames through the echo ----
  const frame = (seq: number) => deltaFrame(seq, 0, o.fileSize);
  const toGateway = {
    frame,
    send: (b: Uint8Array) => peer.send(b),
    receive: (f: (seq: number) => void) => void (onDelta = f),
  };
  const toEcho = {
    frame,
    send: (b: Uint8Array) => echoClient.send(b),
    receive: (f: (seq: number) => void) => void (echoClient.onDelta = f),
  };
  const toFrameEcho = {
    frame,
    send: (b: Uint8Array) => frameEchoClient.send(b),
    receive: (f: (seq: number) => void) => void (frameEchoClient.onDelta = f),
  };
  const toBufEcho = {
    frame,
    send: (b: Uint8Array) => bufEchoClient.send(b),
    receive: (f: (seq: number) => void) => void (bufEchoClient.onDelta = f),
  };
  const stream = {
    n: o.deltas,
    warm: Math.ceil(o.deltas / 10),
    window: o.window,
    batch: o.batch,
    maxSeconds: o.phaseSeconds,
  };
  const oneByOne = {
    n: o.latencyDeltas,
    warm: Math.ceil(o.latencyDeltas / 10),
    window: 1,
    batch: 1,
    maxSeconds: o.phaseSeconds,
  };
  const said = (what: string, r: Result, unit = "deltas/s") =>
    log(
      `  ${what}: ${fmtRate(r.rate)} ${unit}, p50/p99 ${fmtMs(r.p50)} / ${fmtMs(r.p99)} ms` +
        (r.errors ? `, ${r.errors} errors` : ""),
    );

  log(`peer → WebSocket: ${fmtN(o.deltas)} deltas, window ${o.window}, ${o.batch} per write`);
  const wsStream = await streamRow(gw, toGateway, stream);
  said("gateway", wsStream);
  const echoStream = await streamRow(echo, toEcho, stream);
  said("raw TCP echo", echoStream);
  const readerStream = await streamRow(frameEcho, toFrameEcho, stream);
  said("echo reading messages through the gateway's FrameReader", readerStream);
  const bufStream = await streamRow(bufEcho, toBufEcho, stream);
  said("echo cutting messages from buffered reads (MessageReader)", bufStream);
  const eventJson = JSON.stringify({
    type: "write",
    side: "remote",
    name: DATA,
    offset: 124,
    size: 4,
    data: "AQIDBA==",
    id: conn.id,
  });
  const wsAll = await wsCeilingRow(wsServer, eventJson, o.deltas, 0);
  said("plain Deno WebSocket, the same event JSON, all sends at once", wsAll);
  const wsWindow = await wsCeilingRow(wsServer, eventJson, o.deltas, 16 * 1024);
  said("plain Deno WebSocket, 16 KiB of bufferedAmount at a time", wsWindow);
  log(`peer → WebSocket: ${fmtN(o.latencyDeltas)} deltas, one in flight`);
  const wsOne = await streamRow(gw, toGateway, oneByOne);
  said("gateway", wsOne);
  const echoOne = await streamRow(echo, toEcho, oneByOne);
  said("raw TCP echo", echoOne);

  // ---- REST → peer ----
  const atPeer = new Arrivals();
  peer.onWrite = (address, data) => {
    if (data.length === 4 && address >= ours.address) atPeer.arrive(seqOf(data));
  };
  const atEcho = new Arrivals();
  echoClient.onDelta = (seq) => atEcho.arrive(seq);
  const put = putTrip((off) => `${base}/files/${OURS}?offset=${off}`, o.fileSize, atPeer, 204);
  const noopPut = putTrip((off) => `${noop.url}/x?offset=${off}`, o.fileSize, undefined, 200);
  const echoRtt = echoTrip(frame, (b) => echoClient.send(b), atEcho);
  const health: Trip = async () => {
    const t0 = performance.now();
    const res = await fetch(`${gw.url}/remotefile/listeners`);
    await res.text();
    return res.status === 200
      ? { ms: performance.now() - t0 }
      : { ms: NaN, error: `${res.status}` };
  };
  const rest: {
    conc: number;
    put: Result;
    echo: Result;
    noop: Result;
    route: Result;
  }[] = [];
  for (const conc of [o.concurrency, 1]) {
    const shape = {
      concurrency: conc,
      warm: Math.ceil(o.puts / 10),
      total: o.puts,
      maxSeconds: o.phaseSeconds,
    };
    log(`REST → peer: ${fmtN(o.puts)} PUTs, ${conc} in flight`);
    const g = await loopRow(gw, shape, put);
    said("gateway (to the peer)", g.result, "req/s");
    log(`  gateway responses: p50/p99 ${fmtMs(g.second.pct(50))} / ${fmtMs(g.second.pct(99))} ms`);
    const e = await loopRow(echo, shape, echoRtt);
    said("raw TCP echo round trip", e.result, "round trips/s");
    const n = await loopRow(noop, shape, noopPut);
    said("no-op Deno.serve PUT", n.result, "req/s");
    const h = await loopRow(gw, shape, health);
    said("gateway GET /remotefile/listeners", h.result, "req/s");
    g.result.note = `response (after the KV save) p50/p99 ${fmtMs(g.second.pct(50))} / ` +
      `${fmtMs(g.second.pct(99))} ms`;
    rest.push({ conc, put: g.result, echo: e.result, noop: n.result, route: h.result });
  }

  // ---- the table ----
  const echoLabel = (how: string) => `raw TCP echo of the same frames, ${how}`;
  rows.push(
    {
      measurement: "peer → WebSocket: 4-byte deltas, write events received",
      size: `${fmtN(o.deltas)}, window ${fmtN(o.window)}`,
      unit: "deltas/s",
      gateway: wsStream,
      baselineLabel: echoLabel("same window"),
      baseline: echoStream,
      target: { rate: 50_000, text: "≥ 50,000 deltas/s" },
    },
    {
      measurement: "(ceiling) the same frames read as the gateway reads them (PeerConnection " +
        "with buffered reads), echoed",
      size: `${fmtN(o.deltas)}, window ${fmtN(o.window)}`,
      unit: "deltas/s",
      gateway: readerStream,
      baselineLabel: echoLabel("same window"),
      baseline: echoStream,
    },
    {
      measurement: "(ceiling) the same frames cut from buffered reads (≤ 64 KiB) by the " +
        "sans-I/O MessageReader, echoed",
      size: `${fmtN(o.deltas)}, window ${fmtN(o.window)}`,
      unit: "deltas/s",
      gateway: bufStream,
      baselineLabel: echoLabel("same window"),
      baseline: echoStream,
    },
    {
      measurement: "(ceiling) plain Deno WebSocket: the gateway's write-event JSON, one send() " +
        "each, all at once",
      size: fmtN(o.deltas),
      unit: "deltas/s",
      gateway: wsAll,
      baselineLabel: echoLabel("same window"),
      baseline: echoStream,
    },
    {
      measurement: "(ceiling) plain Deno WebSocket, as the live hub paces it: 16 KiB of " +
        "bufferedAmount, then the next turn",
      size: fmtN(o.deltas),
      unit: "deltas/s",
      gateway: wsWindow,
      baselineLabel: echoLabel("same window"),
      baseline: echoStream,
    },
    {
      measurement: "peer → WebSocket, one delta in flight",
      size: `${fmtN(o.latencyDeltas)}, window 1`,
      unit: "deltas/s",
      gateway: wsOne,
      baselineLabel: echoLabel("one in flight"),
      baseline: echoOne,
    },
  );
  for (const r of rest) {
    const clients = `${r.conc} client${r.conc === 1 ? "" : "s"}`;
    rows.push(
      {
        measurement: `REST → peer: PUT …/files/{name}?offset=N, 4 B, to the delta at the peer`,
        size: `${fmtN(o.puts)}, ${clients}`,
        unit: "req/s",
        gateway: r.put,
        baselineLabel: `raw TCP echo round trip of the same frame, ${r.conc} in flight`,
        baseline: r.echo,
        target: r.conc === 1 ? { p99: 2, text: "p99 < 2 ms" } : undefined,
      },
      {
        measurement: "(ceiling) GET /remotefile/listeners on the gateway: its HTTP path alone",
        size: `${fmtN(o.puts)}, ${clients}`,
        unit: "req/s",
        gateway: r.route,
        baselineLabel: `raw TCP echo round trip of the same frame, ${r.conc} in flight`,
        baseline: r.echo,
      },
      {
        measurement: `(ceiling) the same PUT to a no-op Deno.serve, by fetch`,
        size: `${fmtN(o.puts)}, ${clients}`,
        unit: "req/s",
        gateway: r.noop,
        baselineLabel: `raw TCP echo round trip of the same frame, ${r.conc} in flight`,
        baseline: r.echo,
      },
    );
  }
} finally {
  ws?.close();
  peer.close();
  echoClient.close();
  frameEchoClient.close();
  bufEchoClient.close();
  await gw.close();
  const logs = gw.logs().trim();
  if (logs) console.error(`The gateway's warnings and errors:\n${logs.slice(-4000)}`);
  await echo.close();
  await frameEcho.close();
  await bufEcho.close();
  await wsServer.close();
  await noop.close();
  await work.cleanup();
}

const report = {
  title: "RemoteFile / APX",
  machine,
  fingerprint,
  summary: `Gateway in its own process${o.profile ? " (under --cpu-prof)" : ""}, the peer, ` +
    `the WebSocket and the HTTP clients in the bench's; the echo servers, the WebSocket ` +
    `ceiling server and the no-op server in processes of their own; loopback. Run took ${
      ((performance.now() - t0) / 60000).toFixed(1)
    } min.`,
  rows,
  ladders: [],
  options: o,
};
console.log(renderReport(report));
if (o.json) await writeJson(o.json, report);
