/**
 * What the HTTP front's tests share: the test app, a raw HTTP/1.1 client
 * with a response parser of its own (not the front's), and a front per
 * test on port 0, run in a worker and on the main thread alike.
 */
import assert from "node:assert/strict";
import { createLogger } from "../../lib/log.ts";
import { createMetrics, type Metrics } from "../../lib/metrics.ts";
import {
  CLIENT_ADDR_HEADER,
  type Front,
  type FrontLimits,
  startFront,
} from "../../services/http_front.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** What the app sent on a flooding response or WebSocket (by the `id` the test gave it). */
export interface Flood {
  /** Bytes the app has handed to the server so far. */
  produced: number;
  /** Resolves when the app sees the stream cancelled or the socket closed. */
  closed: PromiseWithResolvers<void>;
}
const floods = new Map<string, Flood>();

/** The flood the app keeps for `id`. */
export function flood(id: string): Flood {
  let f = floods.get(id);
  if (!f) floods.set(id, f = { produced: 0, closed: Promise.withResolvers() });
  return f;
}

/** The test app: echoes, streams, upgrades, and reports what it saw. */
export async function handler(req: Request, info: Deno.ServeHandlerInfo): Promise<Response> {
  const url = new URL(req.url);
  switch (url.pathname) {
    case "/echo":
      // A body the front cut off (malformed chunked) fails to read: answer something.
      return new Response(await req.bytes().catch(() => "cut"), {
        headers: { "x-method": req.method, "x-length": String(req.headers.get("content-length")) },
      });
    case "/who":
      return Response.json({
        remote: info.remoteAddr,
        header: req.headers.get(CLIENT_ADDR_HEADER),
        all: [...req.headers].filter(([k]) => k === CLIENT_ADDR_HEADER).length,
      });
    case "/empty":
      return new Response(null, { status: 204 });
    case "/cached":
      return new Response(null, { status: 304, headers: { etag: '"x"' } });
    case "/chunks":
      return new Response(
        ReadableStream.from(["one,", "two,", "three"]).pipeThrough(
          new TextEncoderStream(),
        ),
      );
    case "/sse": {
      const n = Number(url.searchParams.get("n") ?? 5);
      const every = Number(url.searchParams.get("every") ?? 100);
      let i = 0;
      let timer: ReturnType<typeof setInterval> | undefined;
      return new Response(
        new ReadableStream({
          start(c) {
            timer = setInterval(() => {
              c.enqueue(enc.encode(`data: ${i++}\n\n`));
              if (i === n) {
                clearInterval(timer);
                c.close();
              }
            }, every);
          },
          cancel: () => clearInterval(timer),
        }),
        { headers: { "content-type": "text/event-stream" } },
      );
    }
    case "/ws": {
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.onmessage = (e) => socket.send(`echo:${e.data}`);
      return response;
    }
    case "/early":
      // Answered without reading the body, as a body-size limit does.
      return new Response("too large", { status: 413 });
    case "/flood": {
      // An endless body, made only as fast as the server takes it.
      const f = flood(url.searchParams.get("id")!);
      return new Response(
        new ReadableStream({
          pull(c) {
            f.produced += 64 * 1024;
            c.enqueue(new Uint8Array(64 * 1024).fill(0x78));
          },
          cancel: () => f.closed.resolve(),
        }),
      );
    }
    case "/ws-flood": {
      // A WebSocket that sends 16 KiB every millisecond, as a busy live feed would.
      const f = flood(url.searchParams.get("id")!);
      const { socket, response } = Deno.upgradeWebSocket(req);
      const message = "x".repeat(16 * 1024);
      let timer: ReturnType<typeof setInterval> | undefined;
      socket.onopen = () => {
        timer = setInterval(() => {
          if (socket.readyState !== WebSocket.OPEN) return;
          socket.send(message);
          f.produced += message.length;
        }, 1);
      };
      socket.onclose = () => {
        clearInterval(timer);
        f.closed.resolve();
      };
      socket.onerror = () => {};
      return response;
    }
    case "/slow":
      await new Promise((r) => setTimeout(r, Number(url.searchParams.get("ms") ?? 100)));
      return new Response("slow");
    default:
      return new Response(`hello ${req.method} ${url.pathname}`);
  }
}

/** Where the front runs: every test runs with both. */
export const THREADS = ["worker", "main"] as const;
export type Thread = typeof THREADS[number];

/** Registers `fn` as one test per thread, named `front [thread]: name`. */
export function frontTest(name: string, fn: (thread: Thread) => Promise<void>): void {
  for (const thread of THREADS) Deno.test(`front [${thread}]: ${name}`, () => fn(thread));
}

/** A front with the test app, on port 0, closed after `fn`. */
export async function withFront(
  thread: Thread,
  limits: Partial<FrontLimits>,
  fn: (front: Front, port: number, metrics: Metrics) => Promise<void>,
): Promise<void> {
  const metrics = createMetrics();
  const front = await startFront({
    hostname: "127.0.0.1",
    port: 0,
    handler,
    limits,
    thread,
    metrics,
    log: createLogger("silent"),
  });
  try {
    await fn(front, front.addr.port, metrics);
  } finally {
    await front.close();
  }
}

export interface RawResponse {
  status: number;
  headers: Headers;
  body: string;
  head: string;
}

/** A client that writes raw bytes and reads responses with a parser of its own. */
export class RawClient {
  #buf = new Uint8Array(0);
  #eof = false;
  private constructor(readonly conn: Deno.TcpConn) {}

  static async open(port: number): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async send(data: string | Uint8Array): Promise<void> {
    const b = typeof data === "string" ? enc.encode(data) : data;
    for (let o = 0; o < b.length;) o += await this.conn.write(b.subarray(o));
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = new Uint8Array(65536);
    let n: number | null = null;
    try {
      n = await this.conn.read(chunk);
    } catch {
      n = null;
    }
    if (n === null) {
      this.#eof = true;
      return false;
    }
    const next = new Uint8Array(this.#buf.length + n);
    next.set(this.#buf);
    next.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = next;
    return true;
  }

  async #take(n: number): Promise<string> {
    while (this.#buf.length < n) if (!(await this.#fill())) throw new Error("Closed early");
    const s = dec.decode(this.#buf.subarray(0, n));
    this.#buf = this.#buf.slice(n);
    return s;
  }

  async #line(): Promise<string> {
    for (;;) {
      const i = dec.decode(this.#buf).indexOf("\r\n");
      if (i >= 0) return (await this.#take(i + 2)).slice(0, -2);
      if (!(await this.#fill())) throw new Error("Closed early");
    }
  }

  /** Reads one response (its head only after HEAD or for 1xx/204/304). */
  async response(method = "GET"): Promise<RawResponse> {
    const statusLine = await this.#line();
    const status = Number(statusLine.split(" ")[1]);
    const headers = new Headers();
    let head = statusLine + "\r\n";
    for (let l = await this.#line(); l !== ""; l = await this.#line()) {
      head += l + "\r\n";
      const i = l.indexOf(":");
      headers.append(l.slice(0, i), l.slice(i + 1).trim());
    }
    let body = "";
    if (method === "HEAD" || status < 200 || status === 204 || status === 304) {
      // no body
    } else if (headers.get("transfer-encoding") === "chunked") {
      for (;;) {
        const size = parseInt(await this.#line(), 16);
        if (size === 0) {
          while ((await this.#line()) !== "");
          break;
        }
        body += await this.#take(size);
        await this.#take(2);
      }
    } else if (headers.has("content-length")) {
      body = await this.#take(Number(headers.get("content-length")));
    } else {
      while (await this.#fill());
      body = dec.decode(this.#buf);
      this.#buf = new Uint8Array(0);
    }
    return { status, headers, body, head };
  }

  /**
   * Reads and drops what arrives until the server closes (true) or `maxBytes`
   * have come without that (false).
   */
  async readsToEnd(maxBytes: number): Promise<boolean> {
    const chunk = new Uint8Array(1024 * 1024);
    for (let got = this.#buf.length; got <= maxBytes;) {
      const n = await this.conn.read(chunk).catch(() => null);
      if (n === null) return true;
      got += n;
    }
    return false;
  }

  /** Resolves true when the server closes the connection, false if it is still open after `ms`. */
  async closedWithin(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const t = new Promise<"open">((r) => setTimeout(() => r("open"), deadline - Date.now()));
      const read = this.#fill().then((more) => (more ? "data" : "closed"));
      const r = await Promise.race([read, t]);
      if (r === "closed") return true;
      if (r === "open") {
        // Leave the pending read to end when the test closes the socket.
        read.catch(() => {});
        return false;
      }
    }
    return false;
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

export function assertProblem(res: RawResponse, status: number): Record<string, unknown> {
  assert.equal(res.status, status, res.head + res.body);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  assert.equal(res.headers.get("connection"), "close");
  const p = JSON.parse(res.body);
  assert.equal(p.status, status);
  assert.equal(typeof p.type, "string");
  assert.equal(typeof p.title, "string");
  assert.equal(typeof p.detail, "string");
  return p;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until `read()` gives `expected`, then asserts it: a worker's
 * metrics reach the main thread in batches, some milliseconds later.
 */
export async function settled<T>(read: () => T, expected: T, what = "value"): Promise<void> {
  for (let i = 0; i < 500 && read() !== expected; i++) await sleep(10);
  assert.equal(read(), expected, what);
}

/** Resolves as `promise` does, or rejects with `what` if it has not after `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error(what)), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
