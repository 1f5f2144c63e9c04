/**
 * One client connection of the HTTP front: reads each request head with
 * limits, passes complete requests to the server behind it and the answers
 * back, byte for byte, and tracks both directions' framing so it always
 * knows whether the connection is idle (the idle timeout runs), receiving a
 * head (the header timeout runs) or in the middle of an exchange (no timeout
 * on its length: uploads, long responses, SSE, tunnels after a 101; only
 * the write stall timeout, below).
 *
 * Requests may be pipelined: each complete one goes on at once, its answer
 * is matched in order. After a request that may switch protocols (Upgrade,
 * CONNECT) nothing more is read until its answer says whether it did.
 *
 * What it holds is bounded, whatever the peers do: one read from each side
 * (at most 64 KiB), a request head (the head limits) and a response head
 * (64 KiB). Each side is read again only once what the last read gave is
 * written to the other (backpressure), and bytes for a client that takes
 * none for `writeStallTimeoutMs` close it and its server connection.
 * Everything one client read gives for the server goes in one write.
 */
import { ChunkedFramer } from "../protocols/http1/chunked.ts";
import { type Problem, problemResponse } from "../protocols/http1/problem.ts";
import type { HeadLimits, RequestHead } from "../protocols/http1/request_head.ts";
import { RequestHeadReader } from "../protocols/http1/request_head_reader.ts";
import { parseResponseHead, responseFraming } from "../protocols/http1/response_head.ts";
import type { Upstream, UpstreamOwner, UpstreamPool } from "./upstream_pool.ts";
import { concat } from "../lib/bytes.ts";

/** What every connection of one front shares. */
export interface ConnContext {
  headLimits: HeadLimits;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  writeStallTimeoutMs: number;
  /** Lower-case name of the field the front sets to the client's address. */
  clientAddrHeader: string;
  pool: UpstreamPool;
  /** Leases an upstream connection, or says why not (e.g. out of file descriptors). */
  acquire(owner: UpstreamOwner): Promise<Upstream | Problem>;
  /** A refusal the front answered, and to whom (the client's address). */
  refused(problem: Problem, client: string): void;
  timedOut(phase: "header" | "idle" | "write"): void;
  /** True once the front is closing: connections close as soon as they are idle. */
  draining(): boolean;
  closed(conn: FrontConnection): void;
}

/** One request passed on, until its final response has been passed back. */
interface Exchange {
  method: string;
  upgrade: boolean;
  keepAlive: boolean;
  bodyDone: boolean;
  /** Whether any byte of its response reached the client. */
  responded: boolean;
}

type RequestState = "head" | "length" | "chunked" | "wait" | "tunnel" | "done";
type ResponseState = "head" | "length" | "chunked" | "close" | "tunnel";

/** Longest response head the server may send. */
const MAX_RESPONSE_HEAD = 64 * 1024;
/** Client reads: small while idle, larger once a read fills the small buffer. */
const SMALL_READ = 4 * 1024, LARGE_READ = 64 * 1024;
/**
 * How long, and for how many bytes, a client is read after its last answer
 * before the connection closes (see #linger): enough for the rest of a body
 * the server answered without reading, so the client gets to read the answer.
 */
const LINGER_MS = 2_000, LINGER_BYTES = 64 * 1024 * 1024;
const CRLF = new Uint8Array([13, 10]);

/** A client connection; `run()` serves it until it closes. */
export class FrontConnection implements UpstreamOwner {
  /** When the running timer fires (performance.now() ms), and which one it is. */
  deadline: number;
  timer: "header" | "idle" | "linger" | undefined = "header";
  /** While bytes wait to be written to the client: when the write stall timeout fires. */
  writeDeadline = Infinity;

  #reader: RequestHeadReader;
  #req: RequestState = "head";
  #reqRemaining = 0;
  #reqChunked: ChunkedFramer | undefined;
  /** The exchange whose request is being received. */
  #current: Exchange | undefined;
  #pending: Exchange[] = [];
  #wait: PromiseWithResolvers<void> | undefined;
  /** Bytes for the server from the client read being handled, written as one. */
  #upOut: Uint8Array[] = [];

  #res: ResponseState = "head";
  #resRemaining = 0;
  #resChunked: ChunkedFramer | undefined;
  #resHead = new Uint8Array(0);
  #resHeadLen = 0;
  /** Set when the connection must close once what is being written is out. */
  #closeAfterWrite = false;
  /** A refusal to send once the responses before it are out. */
  #refusal: Problem | undefined;

  #upstream: Upstream | undefined;
  #closed = false;
  #lingering = false;

  constructor(
    private readonly ctx: ConnContext,
    readonly conn: Deno.TcpConn,
    /** The field line the front adds to every request, CRLF included. */
    private readonly addrLine: Uint8Array,
  ) {
    this.#reader = new RequestHeadReader(ctx.headLimits, ctx.clientAddrHeader);
    this.deadline = performance.now() + ctx.headerTimeoutMs;
  }

  /** True when no request is being received or answered. */
  get idle(): boolean {
    return this.#pending.length === 0 && this.#req === "head" && this.#reader.buffered === 0;
  }

  /** Reads the client until it closes; the connection is closed when this resolves. */
  async run(): Promise<void> {
    let buf = new Uint8Array(SMALL_READ);
    let lingered = 0;
    while (!this.#closed || this.#lingering) {
      let n: number | null;
      try {
        n = await this.conn.read(buf);
      } catch {
        n = null;
      }
      if (n === null) break;
      if (this.#lingering) {
        if ((lingered += n) > LINGER_BYTES) break;
        continue;
      }
      await this.#feed(buf.subarray(0, n));
      if (n === buf.length && buf.length < LARGE_READ) buf = new Uint8Array(LARGE_READ);
      else if (buf.length > SMALL_READ && this.idle) buf = new Uint8Array(SMALL_READ);
    }
    this.close();
  }

  /** Called by the front's sweep when `deadline` or `writeDeadline` has passed. */
  expire(now: number = performance.now()): void {
    if (this.writeDeadline <= now) {
      this.writeDeadline = Infinity;
      if (!this.#closed) this.ctx.timedOut("write");
      return this.close();
    }
    const timer = this.timer;
    this.timer = undefined;
    if (timer === "linger" || this.#closed) return this.close();
    this.ctx.timedOut(timer === "idle" ? "idle" : "header");
    if (timer === "header" && this.#reader.buffered > 0 && this.#pending.length === 0) {
      this.#respondAndClose({
        status: 408,
        detail: `The request head was not complete within ${this.ctx.headerTimeoutMs} ms`,
      });
    } else {
      this.close();
    }
  }

  /** Closes both ends now. */
  close(): void {
    if (this.#closed && !this.#lingering) return;
    this.#closed = true;
    this.#lingering = false;
    this.timer = undefined;
    try {
      this.conn.close();
    } catch { /* already closed */ }
    this.writeDeadline = Infinity;
    this.#upOut.length = 0;
    this.#dropUpstream(this.#pending.length > 0 || this.#req !== "head");
    this.#wait?.resolve();
    this.ctx.closed(this);
  }

  // ---- client → server ----

  async #feed(bytes: Uint8Array): Promise<void> {
    let pos = 0;
    while (pos < bytes.length && !this.#closed) {
      switch (this.#req) {
        case "head": {
          if (this.timer !== "header") this.#setTimer("header", this.ctx.headerTimeoutMs);
          const r = this.#reader.push(pos === 0 ? bytes : bytes.subarray(pos));
          if (r.kind === "more") return await this.#flushUp();
          if (r.kind === "error") {
            await this.#flushUp();
            return this.#refuse(r.error);
          }
          this.#setTimer(undefined, 0);
          if (!this.#upstream) {
            await this.#flushUp();
            if (!(await this.#lease())) return;
          }
          this.#startRequest(r.head, r.raw);
          bytes = r.rest;
          pos = 0;
          break;
        }
        case "length": {
          const take = Math.min(this.#reqRemaining, bytes.length - pos);
          this.#queueUp(bytes.subarray(pos, pos + take));
          pos += take;
          if ((this.#reqRemaining -= take) === 0) this.#requestDone();
          break;
        }
        case "chunked": {
          const framer = this.#reqChunked!;
          const take = framer.push(bytes, pos);
          if (take > 0) this.#queueUp(bytes.subarray(pos, pos + take));
          pos += take;
          if (framer.done) this.#requestDone();
          if (framer.error) {
            await this.#flushUp();
            return this.#badBody(framer.error);
          }
          break;
        }
        case "wait":
          // Whether what follows is HTTP or a tunnel's bytes depends on the answer.
          await this.#flushUp();
          await this.#wait!.promise;
          break;
        case "tunnel":
          this.#queueUp(pos === 0 ? bytes : bytes.subarray(pos));
          return await this.#flushUp();
        case "done":
          return await this.#flushUp();
      }
    }
    await this.#flushUp();
  }

  /** Leases a server connection; false if refused (answered) or closed meanwhile. */
  async #lease(): Promise<boolean> {
    const up = await this.ctx.acquire(this);
    if (this.#closed) {
      if (!("status" in up)) this.ctx.pool.release(up);
      return false;
    }
    if ("status" in up) {
      this.#refuse(up);
      return false;
    }
    this.#upstream = up;
    return true;
  }

  #startRequest(head: RequestHead, raw: Uint8Array): void {
    const ex: Exchange = {
      method: head.method,
      upgrade: head.upgrade,
      keepAlive: head.keepAlive,
      bodyDone: false,
      responded: false,
    };
    this.#current = ex;
    this.#pending.push(ex);
    // The state moves on before the head is written: the answer may arrive before the write ends.
    this.#queueUp(this.#forwardedHead(raw, head.stripped));
    if (head.body.kind === "length") {
      this.#req = "length";
      this.#reqRemaining = head.body.length;
    } else if (head.body.kind === "chunked") {
      this.#req = "chunked";
      this.#reqChunked = new ChunkedFramer();
    } else {
      this.#requestDone();
    }
  }

  /** The head as the server gets it: the client's own address field cut, the front's added. */
  #forwardedHead(raw: Uint8Array, stripped: number[]): Uint8Array {
    let cut = 0;
    for (let i = 0; i < stripped.length; i += 2) cut += stripped[i + 1] - stripped[i];
    const out = new Uint8Array(raw.length - cut + this.addrLine.length);
    let o = 0, from = 0;
    for (let i = 0; i < stripped.length; i += 2) {
      out.set(raw.subarray(from, stripped[i]), o);
      o += stripped[i] - from;
      from = stripped[i + 1];
    }
    out.set(raw.subarray(from, raw.length - 2), o);
    o += raw.length - 2 - from;
    out.set(this.addrLine, o);
    out.set(CRLF, o + this.addrLine.length);
    return out;
  }

  #requestDone(): void {
    const ex = this.#current!;
    ex.bodyDone = true;
    this.#current = undefined;
    this.#reqChunked = undefined;
    if (ex.upgrade && this.#pending.includes(ex)) {
      this.#req = "wait";
      this.#wait = Promise.withResolvers();
    } else {
      this.#req = ex.keepAlive ? "head" : "done";
    }
  }

  /** Bytes for the server; they may be views of the read buffer, so flush before reading on. */
  #queueUp(bytes: Uint8Array): void {
    if (this.#upstream) this.#upOut.push(bytes);
  }

  /** Writes what is queued for the server, as one write. */
  async #flushUp(): Promise<void> {
    const out = this.#upOut;
    if (out.length === 0) return;
    const bytes = out.length === 1 ? out[0] : concat(out);
    out.length = 0;
    const up = this.#upstream;
    if (!up) return;
    try {
      await up.write(bytes);
    } catch {
      this.upstreamEnd(up);
    }
  }

  /** A malformed chunked body: the server has part of it, so its connection goes too. */
  #badBody(error: string): void {
    this.#dropUpstream(true);
    const ex = this.#pending[0];
    if (this.#pending.length === 1 && ex === this.#current && !ex.responded) {
      this.#pending.length = 0;
      this.#respondAndClose({ status: 400, detail: `Malformed chunked body: ${error}` });
    } else {
      this.close();
    }
  }

  /** Answers a refused request itself, after the answers to earlier pipelined ones. */
  #refuse(problem: Problem): void {
    this.#req = "done";
    if (this.#pending.length === 0) this.#respondAndClose(problem);
    else this.#refusal = problem;
  }

  // ---- server → client ----

  /** Bytes from the server: passes them on and tracks where each response ends. */
  async upstreamData(bytes: Uint8Array, from: Upstream): Promise<void> {
    if (this.#closed || from !== this.#upstream) return;
    const out: Uint8Array[] = [];
    let pos = 0, flushed = 0;
    const len = bytes.length;
    while (pos < len && !this.#closeAfterWrite) {
      switch (this.#res) {
        case "head": {
          const ex = this.#pending[0];
          if (!ex) {
            // Bytes no request asked for: the server is out of step; stop here.
            this.#closeAfterWrite = true;
            this.#dropUpstream(true);
            break;
          }
          const before = this.#resHeadLen;
          const view = pos === 0 ? bytes : bytes.subarray(pos);
          let head;
          if (before === 0) {
            // Usually the whole head is in one read: parse it where it is.
            head = parseResponseHead(view, view.length, MAX_RESPONSE_HEAD);
            if (head === "more") this.#appendResHead(view);
          } else {
            this.#appendResHead(view);
            head = parseResponseHead(
              this.#resHead,
              this.#resHeadLen,
              MAX_RESPONSE_HEAD,
              before - 3,
            );
          }
          if (head === "more") {
            // Held back until complete: its fields decide what follows.
            if (pos > flushed) out.push(bytes.subarray(flushed, pos));
            pos = flushed = len;
            break;
          }
          this.#resHeadLen = 0;
          if (typeof head === "string") {
            this.#dropUpstream(true);
            if (!ex.responded && pos === flushed && out.length === 0) {
              this.#pending.length = 0;
              this.#respondAndClose({
                status: 502,
                detail: `The application answered badly: ${head}`,
              });
              return;
            }
            this.#closeAfterWrite = true;
            break;
          }
          ex.responded = true;
          const framing = responseFraming(head, ex.method);
          if (!head.keepAlive && framing.kind !== "interim") ex.keepAlive = false;
          const rest = head.length - before;
          if (
            !ex.bodyDone && ex.keepAlive && framing.kind !== "interim" && framing.kind !== "tunnel"
          ) {
            // An answer before the request body is all in (a 413, say): the connection ends
            // after it, so the head says so, and the client sends its next request elsewhere.
            ex.keepAlive = false;
            const whole = before > 0
              ? concat([this.#resHead.subarray(0, before), bytes.subarray(pos, pos + rest)])
              : bytes.subarray(pos, pos + rest);
            if (pos > flushed) out.push(bytes.subarray(flushed, pos));
            out.push(withConnectionClose(whole));
            flushed = pos + rest;
          } else if (before > 0) {
            if (pos > flushed) out.push(bytes.subarray(flushed, pos));
            out.push(this.#resHead.slice(0, before));
            flushed = pos;
          }
          pos += rest;
          switch (framing.kind) {
            case "interim":
              break;
            case "tunnel":
              if (!ex.upgrade) {
                this.#dropUpstream(true);
                this.#closeAfterWrite = true;
                break;
              }
              this.#res = "tunnel";
              this.#pending.length = 0;
              this.#req = "tunnel";
              this.#setTimer(undefined, 0);
              this.#wait?.resolve();
              break;
            case "none":
              this.#responseDone();
              break;
            case "length":
              if (framing.length === 0) this.#responseDone();
              else {
                this.#res = "length";
                this.#resRemaining = framing.length;
              }
              break;
            case "chunked":
              this.#res = "chunked";
              this.#resChunked = new ChunkedFramer({
                maxExtensionBytes: 64 * 1024,
                maxTrailerBytes: MAX_RESPONSE_HEAD,
              });
              break;
            case "close":
              this.#res = "close";
              ex.keepAlive = false;
              break;
          }
          break;
        }
        case "length": {
          const take = Math.min(this.#resRemaining, len - pos);
          pos += take;
          if ((this.#resRemaining -= take) === 0) this.#responseDone();
          break;
        }
        case "chunked": {
          const framer = this.#resChunked!;
          pos += framer.push(bytes, pos);
          if (framer.error) {
            this.#dropUpstream(true);
            this.#closeAfterWrite = true;
          } else if (framer.done) this.#responseDone();
          break;
        }
        case "close":
        case "tunnel":
          pos = len;
          break;
      }
    }
    if (pos > flushed) out.push(bytes.subarray(flushed, pos));
    if (out.length > 0) await this.#toClient(out.length === 1 ? out[0] : concat(out));
    if (this.#closed) return;
    if (this.#closeAfterWrite) return this.#linger();
    if (this.#pending.length === 0) this.#afterLastResponse();
  }

  #appendResHead(bytes: Uint8Array): void {
    const need = this.#resHeadLen + bytes.length;
    if (need > this.#resHead.length) {
      const grown = new Uint8Array(Math.max(need, 2 * this.#resHead.length, 1024));
      grown.set(this.#resHead.subarray(0, this.#resHeadLen));
      this.#resHead = grown;
    }
    this.#resHead.set(bytes, this.#resHeadLen);
    this.#resHeadLen = need;
  }

  #responseDone(): void {
    const ex = this.#pending.shift()!;
    this.#res = "head";
    this.#resChunked = undefined;
    if (!ex.keepAlive || !ex.bodyDone) {
      // The server may close now, or has a request body it did not read: start afresh.
      this.#closeAfterWrite = true;
      this.#dropUpstream(true);
    }
    if (ex.upgrade && this.#req === "wait") {
      this.#req = ex.keepAlive ? "head" : "done";
      this.#wait!.resolve();
    }
  }

  /** Every answer is out: send a queued refusal, or go idle and give the server connection back. */
  #afterLastResponse(): void {
    if (this.#refusal) return this.#respondAndClose(this.#refusal);
    if (this.#req !== "head") {
      if (this.#req === "done") this.close();
      return;
    }
    if (this.#upstream) {
      this.ctx.pool.release(this.#upstream);
      this.#upstream = undefined;
    }
    if (this.#reader.buffered > 0) return;
    if (this.ctx.draining()) return this.close();
    this.#setTimer("idle", this.ctx.idleTimeoutMs);
  }

  /** The server connection ended or failed. */
  upstreamEnd(from: Upstream): void {
    if (this.#closed || from !== this.#upstream) return;
    this.#upstream = undefined;
    const ex = this.#pending[0];
    if (!ex) {
      // Idle, or a head still arriving: the next request gets a new connection.
      if (this.#req === "head") return;
      return this.close();
    }
    if (!ex.responded && this.#resHeadLen === 0) {
      this.#pending.length = 0;
      this.#respondAndClose({
        status: 502,
        detail: "The application closed its connection without answering",
      });
    } else {
      this.close();
    }
  }

  /** Writes all of `bytes` to the client; one that takes none of them for a while is closed. */
  async #toClient(bytes: Uint8Array): Promise<void> {
    const stall = this.ctx.writeStallTimeoutMs;
    this.writeDeadline = performance.now() + stall;
    try {
      let off = await this.conn.write(bytes);
      while (off < bytes.length) {
        this.writeDeadline = performance.now() + stall;
        off += await this.conn.write(bytes.subarray(off));
      }
    } catch {
      this.close();
    }
    this.writeDeadline = Infinity;
  }

  // ---- closing ----

  #dropUpstream(broken: boolean): void {
    const up = this.#upstream;
    if (!up) return;
    this.#upstream = undefined;
    if (broken) up.close();
    else this.ctx.pool.release(up);
  }

  #setTimer(timer: "header" | "idle" | "linger" | undefined, ms: number): void {
    this.timer = timer;
    this.deadline = timer ? performance.now() + ms : Infinity;
  }

  /** Answers a problem itself and closes (see #linger). */
  #respondAndClose(problem: Problem): void {
    if (this.#closed) return;
    const { hostname, port } = this.conn.remoteAddr;
    this.ctx.refused(problem, `${hostname}:${port}`);
    this.#linger(problemResponse(problem));
  }

  /**
   * Closes gently, after writing `last` if given: stop sending, then read
   * what the client still sends for a moment (a body the server did not
   * read, say), since closing a socket with unread bytes resets it and the
   * client could lose the answer.
   */
  #linger(last?: Uint8Array): void {
    if (this.#closed) return;
    this.#dropUpstream(true);
    this.#req = "done";
    this.#closed = true;
    this.#lingering = true;
    this.#setTimer("linger", LINGER_MS);
    this.#wait?.resolve();
    (async () => {
      if (last) await this.#toClient(last);
      await this.conn.closeWrite();
    })().catch(() => this.close());
  }
}

const CONNECTION_CLOSE = new TextEncoder().encode("connection: close\r\n");

/** A response head with `connection: close` added after its status line. */
function withConnectionClose(head: Uint8Array): Uint8Array {
  let i = 0;
  while (i + 1 < head.length && !(head[i] === 0x0d && head[i + 1] === 0x0a)) i++;
  return concat([head.subarray(0, i + 2), CONNECTION_CLOSE, head.subarray(i + 2)]);
}
