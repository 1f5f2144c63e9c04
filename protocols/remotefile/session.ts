/**
 * One RemoteFile connection as a state machine, sans-I/O. Inputs are the
 * bytes received (or whole messages) and user calls (publish, write, open,
 * close, revoke); every input returns the messages to send (already framed)
 * and the events to report. The service writes `send` to the socket in
 * order and closes the connection after a `protocolError` event.
 *
 * The session keeps both address spaces: the local one (files we publish,
 * their bytes, whether the peer has them open) and the mirror of the
 * peer's (files it announced, which we opened, their bytes as last written).
 *
 * - Server (listener side): the first message must be a greeting; a valid
 *   one is answered with an ACK in the control area, as the reference server does.
 * - Client: `start()` sends `RMFP/1.0\nNumHeader-Format:32\n\n`; the session
 *   waits for that ACK before it sends anything else.
 * - Both: every file the peer announces is opened (configurable); a local
 *   file the peer opens is sent whole, then only deltas while it stays open.
 *   Heartbeat and ping requests are answered.
 *
 * Peer input never throws: bad input is a `rejected` event (and a NACK to
 * the peer) for a command that cannot be understood, or a `protocolError`
 * event (and the session closes) for anything that breaks the stream or
 * Rule #1. User calls throw lib/errors domain errors.
 *
 * @example
 * ```ts
 * const server = new RemoteFileSession({ role: "server" });
 * const client = new RemoteFileSession({ role: "client" });
 * client.publishFile({ name: "Node.out", size: 4 });
 * let out = client.start();                  // out.send: [greeting]
 * out = server.receive(concat(out.send));    // ACK; events: greetingAccepted
 * out = client.receive(concat(out.send));    // FILE_INFO for Node.out
 * out = server.receive(concat(out.send));    // FILE_OPEN; events: fileInfo, open
 * out = client.receive(concat(out.send));    // the whole file; events: open
 * server.receive(concat(out.send)).events;   // [{ type: "write", name: "Node.out", offset: 0, … }]
 * ```
 */
import {
  ConflictError,
  InvalidInputError,
  NotFoundError,
  TooLargeError,
  UnavailableError,
} from "../../lib/errors.ts";
import type { FrameHeader } from "../../lib/frame_header.ts";
import { CONTROL_AREA_SIZE, CONTROL_AREA_START, hexAddress, isControlAddress } from "./address.ts";
import {
  type Command,
  decodeCommand,
  DIGEST_SIZE,
  DIGEST_TYPE_NONE,
  encodeCommand,
  FILE_TYPE_FIXED,
  type FileInfo,
  fileInfoProblem,
  fileNameProblem,
  packFileInfos,
  PING_NO_FILE,
} from "./commands.ts";
import { FileMap } from "./file_map.ts";
import { DEFAULT_MAX_MESSAGE_BYTES, encodeMessage, MessageReader } from "./framing.ts";
import { buildGreeting, GREETING_MAX_BYTES, parseGreeting } from "./greeting.ts";
import { NUMHEADER16_MAX, type NumHeaderFormat, numHeaderFrame } from "./num_header.ts";
import {
  decodeWriteMessage,
  encodeWriteMessage,
  fragmentWrite,
  WriteAssembler,
} from "./write_message.ts";

import {
  DEFAULT_MAX_FILE_BYTES,
  DEFAULT_MAX_REMOTE_FILES,
  DEFAULT_MAX_TOTAL_BYTES,
  DEFAULT_MAX_WRITE_BYTES,
  type FileStatus,
  type PublishFileOptions,
  type SessionOptions,
  type SessionOutput,
  type SessionRole,
  type SessionState,
} from "./session_types.ts";

export * from "./session_types.ts";

interface Entry {
  address: number;
  size: number;
  name: string;
  fileType: number;
  digestType: number;
  digest: Uint8Array;
  open: boolean;
  /** Local: the content. Remote: the mirror, allocated on first open. */
  data: Uint8Array | null;
  /** Remote: we opened it at some time (writes after our close are a race, not an attack). */
  everOpened: boolean;
}

/** A RemoteFile connection's state machine. */
export class RemoteFileSession {
  readonly role: SessionRole;
  readonly #opts: Required<Omit<SessionOptions, "autoOpen" | "numHeaderFormat">>;
  readonly #autoOpen: (file: FileStatus) => boolean;
  #state: SessionState = "greeting";
  #closeReason?: string;
  #format: NumHeaderFormat;
  #started = false;
  readonly #reader: MessageReader;
  readonly #assembler: WriteAssembler;
  #pendingFile: Entry | null = null;
  readonly #local = new FileMap<Entry>();
  readonly #remote = new FileMap<Entry>();
  #heldBytes = 0;

  constructor(opts: SessionOptions) {
    if (opts.role !== "client" && opts.role !== "server") {
      throw new TypeError(`Session role ${JSON.stringify(opts.role)} is not client or server`);
    }
    this.role = opts.role;
    this.#format = opts.numHeaderFormat ?? 32;
    if (this.#format !== 16 && this.#format !== 32) {
      throw new RangeError(`NumHeader format ${this.#format} is not 16 or 32`);
    }
    this.#opts = {
      role: opts.role,
      maxMessageBytes: positive("maxMessageBytes", opts.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES),
      maxFileBytes: positive("maxFileBytes", opts.maxFileBytes, DEFAULT_MAX_FILE_BYTES),
      maxTotalBytes: positive("maxTotalBytes", opts.maxTotalBytes, DEFAULT_MAX_TOTAL_BYTES),
      maxRemoteFiles: positive("maxRemoteFiles", opts.maxRemoteFiles, DEFAULT_MAX_REMOTE_FILES),
      maxWriteBytes: positive("maxWriteBytes", opts.maxWriteBytes, DEFAULT_MAX_WRITE_BYTES),
      batchFileInfo: opts.batchFileInfo ?? false,
    };
    const auto = opts.autoOpen ?? true;
    this.#autoOpen = typeof auto === "function" ? auto : () => auto;
    // A server's first message is the greeting: at most 127 bytes, refused before any allocation.
    this.#reader = new MessageReader({
      format: this.#format,
      maxMessageBytes: this.role === "server" ? GREETING_MAX_BYTES : this.#opts.maxMessageBytes,
    });
    this.#assembler = new WriteAssembler({
      maxBytes: Math.max(CONTROL_AREA_SIZE, this.#opts.maxFileBytes),
    });
  }

  get state(): SessionState {
    return this.#state;
  }

  /** Why the session closed (a protocol error or the reason given to close()). */
  get closeReason(): string | undefined {
    return this.#closeReason;
  }

  /** The NumHeader format of messages both ways (a server learns it from the greeting). */
  get numHeaderFormat(): NumHeaderFormat {
    return this.#format;
  }

  /**
   * Framing of the next message from the peer, for a service that reads
   * whole messages (FrameReader) and passes them to receiveMessage().
   */
  get frameHeader(): FrameHeader {
    return numHeaderFrame(this.#format);
  }

  /** Largest body the next message from the peer may have (127 while a server awaits the greeting). */
  get maxMessageBytes(): number {
    return this.#reader.maxMessageBytes;
  }

  /** Total file bytes held, local and mirrored. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /** Our files, in address order. */
  localFiles(): FileStatus[] {
    return this.#local.list().map(status);
  }

  /** The peer's files, in address order. */
  remoteFiles(): FileStatus[] {
    return this.#remote.list().map(status);
  }

  /** One of our files. */
  localFile(name: string): FileStatus | undefined {
    const f = this.#local.get(name);
    return f && status(f);
  }

  /** One of the peer's files. */
  remoteFile(name: string): FileStatus | undefined {
    const f = this.#remote.get(name);
    return f && status(f);
  }

  /** A copy of a local file's content. */
  localData(name: string): Uint8Array | undefined {
    return this.#local.get(name)?.data?.slice();
  }

  /** A copy of a remote file's mirrored bytes; undefined when never opened (or unknown). */
  remoteData(name: string): Uint8Array | undefined {
    return this.#remote.get(name)?.data?.slice();
  }

  /** Starts the connection: a client sends its greeting; a server sends nothing and waits. */
  start(): SessionOutput {
    const out = output();
    if (this.#started || this.#state === "closed") return out;
    this.#started = true;
    if (this.role === "client") {
      out.send.push(encodeMessage(buildGreeting({ numHeaderFormat: this.#format }), this.#format));
    }
    return out;
  }

  /** Ends the session (the connection is gone); later user calls throw UnavailableError. */
  close(reason: string): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#closeReason = reason;
    this.#assembler.reset();
  }

  /** Bytes from the connection, in any pieces. Do not mix with receiveMessage() on one session. */
  receive(bytes: Uint8Array): SessionOutput {
    const out = output();
    if (this.#state === "closed") return out;
    this.#reader.feed(bytes);
    while (this.state !== "closed") { // (a getter: #handle may close the session)
      let body: Uint8Array | null;
      try {
        body = this.#reader.next();
      } catch (e) {
        const prefix = this.#awaitingGreeting() ? "Bad greeting: " : "";
        this.#fail(out, prefix + message(e));
        break;
      }
      if (body === null) break;
      this.#handle(body, out);
    }
    return out;
  }

  /** One whole message body (its NumHeader already read by the service). */
  receiveMessage(body: Uint8Array): SessionOutput {
    const out = output();
    if (this.#state === "closed") return out;
    if (body.length > this.#reader.maxMessageBytes) {
      const what = this.#awaitingGreeting() ? "Bad greeting: greeting" : "Message";
      this.#fail(
        out,
        `${what} of ${body.length} bytes exceeds the limit of ${this.#reader.maxMessageBytes}`,
      );
      return out;
    }
    this.#handle(body, out);
    return out;
  }

  /**
   * Publishes a local file: announced now when connected, else once the
   * handshake is done; written whole when the peer opens it. Throws
   * InvalidInputError, ConflictError (name or range taken), TooLargeError.
   */
  publishFile(opts: PublishFileOptions): SessionOutput & { file: FileStatus } {
    this.#checkOpen();
    const nameProblem = typeof opts.name === "string"
      ? fileNameProblem(opts.name)
      : "is not a string";
    if (nameProblem) throw new InvalidInputError("name", nameProblem);
    if (!Number.isSafeInteger(opts.size) || opts.size < 0) {
      throw new InvalidInputError("size", `${opts.size} is not a non-negative integer`);
    }
    if (opts.size > this.#opts.maxFileBytes) {
      throw new TooLargeError("file", opts.size, this.#opts.maxFileBytes);
    }
    if (this.#heldBytes + opts.size > this.#opts.maxTotalBytes) {
      throw new TooLargeError("files held", this.#heldBytes + opts.size, this.#opts.maxTotalBytes);
    }
    if (opts.data && opts.data.length > opts.size) {
      throw new InvalidInputError(
        "data",
        `is ${opts.data.length} bytes, more than size ${opts.size}`,
      );
    }
    if (this.#local.get(opts.name)) throw new ConflictError(`A file named "${opts.name}" exists`);
    let address = opts.address;
    if (address === undefined) {
      try {
        address = this.#local.allocate(opts.name, opts.size);
      } catch (e) {
        throw new ConflictError(message(e), { cause: e });
      }
    }
    const info: FileInfo = {
      name: opts.name,
      size: opts.size,
      address,
      fileType: opts.fileType ?? FILE_TYPE_FIXED,
      digestType: opts.digestType ?? DIGEST_TYPE_NONE,
      digest: opts.digest,
    };
    const bad = fileInfoProblem(info);
    if (bad) throw new InvalidInputError(bad.field, bad.problem);
    const data = new Uint8Array(opts.size);
    if (opts.data) data.set(opts.data);
    const digest = new Uint8Array(DIGEST_SIZE);
    if (opts.digest) digest.set(opts.digest);
    const entry: Entry = {
      address,
      size: opts.size,
      name: opts.name,
      fileType: info.fileType!,
      digestType: info.digestType!,
      digest,
      open: false,
      data,
      everOpened: false,
    };
    this.#local.add(entry); // ConflictError on overlap
    this.#heldBytes += entry.size;
    const out = output();
    if (this.#state === "connected") this.#sendFileInfos([entry], out);
    return { ...out, file: status(entry) };
  }

  /**
   * Writes `data` at `offset` of a local file; sent to the peer when it has
   * the file open (else sent with the whole file when it opens it). Throws
   * NotFoundError, InvalidInputError for a range outside the file.
   */
  writeFile(name: string, offset: number, data: Uint8Array): SessionOutput {
    this.#checkOpen();
    const f = this.#local.get(name);
    if (!f) throw new NotFoundError(`No local file named "${name}"`);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + data.length > f.size) {
      throw new InvalidInputError(
        "offset",
        `${offset} with ${data.length} bytes is outside "${name}" (${f.size} bytes)`,
      );
    }
    f.data!.set(data, offset);
    const out = output();
    if (f.open && this.#state === "connected") this.#sendWrite(f.address + offset, data, out);
    return out;
  }

  /** Opens one of the peer's files (FILE_OPEN); its bytes then arrive as write events. */
  openRemote(name: string): SessionOutput {
    this.#checkConnected();
    const f = this.#remote.get(name);
    if (!f) throw new NotFoundError(`The peer has no file named "${name}"`);
    const out = output();
    if (f.open) return out;
    const problem = this.#mirrorProblem(f);
    if (problem) throw problem;
    this.#openRemote(f, out);
    return out;
  }

  /** Closes one of the peer's files (FILE_CLOSE); its mirrored bytes are kept. */
  closeRemote(name: string): SessionOutput {
    this.#checkConnected();
    const f = this.#remote.get(name);
    if (!f) throw new NotFoundError(`The peer has no file named "${name}"`);
    const out = output();
    if (!f.open) return out;
    f.open = false;
    this.#sendCommand({ type: "fileClose", address: f.address }, out);
    out.events.push({ type: "close", side: "remote", name: f.name, address: f.address });
    return out;
  }

  /** Revokes a local file (REVOKE_FILE when connected) and forgets it. Throws NotFoundError. */
  revokeFile(name: string): SessionOutput {
    this.#checkOpen();
    const f = this.#local.get(name);
    if (!f) throw new NotFoundError(`No local file named "${name}"`);
    this.#local.remove(f.address);
    this.#heldBytes -= f.size;
    const out = output();
    if (this.#state === "connected") {
      this.#sendCommand({ type: "revokeFile", address: f.address }, out);
    }
    out.events.push({ type: "revoke", side: "local", name: f.name, address: f.address });
    return out;
  }

  /** Sends a heartbeat request (the reference peers do not answer; do not depend on it). */
  heartbeat(): SessionOutput {
    this.#checkConnected();
    const out = output();
    this.#sendCommand({ type: "heartbeatRequest" }, out);
    return out;
  }

  /** Sends a ping request with a timestamp to be echoed back in a `pong` event. */
  ping(seconds: number, milliseconds: number, address = PING_NO_FILE): SessionOutput {
    this.#checkConnected();
    const out = output();
    try {
      this.#sendCommand({ type: "pingRequest", address, seconds, milliseconds }, out);
    } catch (e) {
      throw new InvalidInputError("ping", message(e), { cause: e });
    }
    return out;
  }

  // ---- peer input ----

  #awaitingGreeting(): boolean {
    return this.role === "server" && this.#state === "greeting";
  }

  #handle(body: Uint8Array, out: SessionOutput): void {
    if (this.#awaitingGreeting()) return this.#handleGreeting(body, out);
    let msg;
    try {
      msg = decodeWriteMessage(body);
    } catch (e) {
      return this.#fail(out, message(e));
    }
    const start = this.#assembler.pendingAddress ?? msg.address;
    const end = msg.address + msg.data.length;
    let file: Entry | null = null;
    // Bounds are checked per fragment, before it is buffered: a write can never outgrow its target.
    if (isControlAddress(start)) {
      if (start !== CONTROL_AREA_START) {
        return this.#fail(
          out,
          `Write at ${hexAddress(start)} is inside the control area but not at its start`,
        );
      }
      // Its length needs no check here: past 1024 bytes a write runs off the address space,
      // which decodeWriteMessage refused.
    } else {
      file = this.#pendingFile ?? this.#remote.findRange(msg.address, msg.data.length) ?? null;
      if (file === null || end > file.address + file.size || msg.address < file.address) {
        return this.#fail(
          out,
          `Write of ${msg.data.length} bytes at ${
            hexAddress(msg.address)
          } is outside every file the peer announced`,
        );
      }
      if (!file.everOpened) {
        return this.#fail(out, `Write to "${file.name}", which was never opened, breaks Rule #1`);
      }
    }
    let write;
    try {
      write = this.#assembler.push(msg);
    } catch (e) {
      this.#pendingFile = null;
      return this.#fail(out, message(e));
    }
    if (write === null) {
      this.#pendingFile = file;
      return;
    }
    this.#pendingFile = null;
    if (file === null) return this.#handleCommand(write.data, out);
    if (!file.open || file.data === null) {
      out.events.push({
        type: "ignored",
        reason: `Write of ${write.data.length} bytes to "${file.name}" after we closed it`,
      });
      return;
    }
    const offset = write.address - file.address;
    file.data.set(write.data, offset);
    out.events.push({
      type: "write",
      name: file.name,
      address: file.address,
      offset,
      data: write.data,
    });
  }

  #handleGreeting(body: Uint8Array, out: SessionOutput): void {
    let greeting;
    try {
      greeting = parseGreeting(body);
    } catch (e) {
      return this.#fail(out, `Bad greeting: ${message(e)}`);
    }
    this.#format = greeting.numHeaderFormat;
    this.#reader.format = greeting.numHeaderFormat;
    this.#reader.maxMessageBytes = this.#opts.maxMessageBytes;
    this.#state = "connected";
    this.#started = true;
    this.#sendCommand({ type: "ack" }, out);
    out.events.push({
      type: "greetingAccepted",
      numHeaderFormat: greeting.numHeaderFormat,
      attributes: greeting.attributes,
    });
    this.#sendFileInfos(this.#local.list(), out);
  }

  #handleCommand(bytes: Uint8Array, out: SessionOutput): void {
    let cmd: Command;
    try {
      cmd = decodeCommand(bytes);
    } catch (e) {
      if (this.#state === "greeting") {
        return this.#fail(out, `Expected an ACK to the greeting: ${message(e)}`);
      }
      return this.#reject(out, message(e));
    }
    if (this.#state === "greeting") {
      // A client: the only answer to its greeting is ACK (or NACK: refused).
      if (cmd.type === "ack") {
        this.#state = "connected";
        out.events.push({
          type: "greetingAccepted",
          numHeaderFormat: this.#format,
          attributes: {},
        });
        this.#sendFileInfos(this.#local.list(), out);
        return;
      }
      return this.#fail(
        out,
        cmd.type === "nack"
          ? "The peer refused the greeting (NACK)"
          : `Expected an ACK to the greeting, got ${cmd.type}`,
      );
    }
    switch (cmd.type) {
      case "ack":
      case "nack":
      case "heartbeatResponse":
        out.events.push({ type: cmd.type === "heartbeatResponse" ? "heartbeat" : cmd.type });
        return;
      case "heartbeatRequest":
        return this.#sendCommand({ type: "heartbeatResponse" }, out);
      case "pingRequest":
        return this.#sendCommand({ ...cmd, type: "pingResponse" }, out);
      case "pingResponse":
        out.events.push({
          type: "pong",
          address: cmd.address,
          seconds: cmd.seconds,
          milliseconds: cmd.milliseconds,
        });
        return;
      case "fileInfo":
        return this.#onFileInfo(cmd.files, out);
      case "revokeFile": {
        const f = this.#remote.remove(cmd.address);
        if (!f) {
          return this.#reject(
            out,
            `REVOKE_FILE for ${hexAddress(cmd.address)}, where the peer has no file`,
          );
        }
        if (f.data) this.#heldBytes -= f.size;
        out.events.push({ type: "revoke", side: "remote", name: f.name, address: f.address });
        return;
      }
      case "fileOpen": {
        const f = this.#local.getByAddress(cmd.address);
        if (!f) {
          return this.#reject(
            out,
            `FILE_OPEN for ${hexAddress(cmd.address)}, where we have no file`,
          );
        }
        f.open = true;
        // The whole file first (again, if it was open already: the peer asked for it).
        this.#sendWrite(f.address, f.data!, out);
        out.events.push({ type: "open", side: "local", name: f.name, address: f.address });
        return;
      }
      case "fileClose": {
        const f = this.#local.getByAddress(cmd.address);
        if (!f) {
          return this.#reject(
            out,
            `FILE_CLOSE for ${hexAddress(cmd.address)}, where we have no file`,
          );
        }
        f.open = false;
        out.events.push({ type: "close", side: "local", name: f.name, address: f.address });
        return;
      }
    }
  }

  #onFileInfo(files: FileInfo[], out: SessionOutput): void {
    for (const info of files) {
      const same = this.#remote.get(info.name);
      if (same && same.address === info.address && same.size === info.size) continue; // announced again
      if (!same && this.#remote.size >= this.#opts.maxRemoteFiles) {
        this.#reject(
          out,
          `FILE_INFO for "${info.name}" refused: the peer has ${this.#remote.size} files, ` +
            `the most a connection may have`,
        );
        continue;
      }
      const entry: Entry = {
        address: info.address,
        size: info.size,
        name: info.name,
        fileType: info.fileType ?? FILE_TYPE_FIXED,
        digestType: info.digestType ?? DIGEST_TYPE_NONE,
        digest: info.digest ?? new Uint8Array(DIGEST_SIZE),
        open: false,
        data: null,
        everOpened: false,
      };
      try {
        this.#remote.add(entry);
      } catch (e) {
        this.#reject(out, `FILE_INFO for "${info.name}" refused: ${message(e)}`);
        continue;
      }
      const st = status(entry);
      out.events.push({ type: "fileInfo", file: st });
      if (!this.#autoOpen(st)) continue;
      const problem = this.#mirrorProblem(entry);
      if (problem) {
        out.events.push({
          type: "ignored",
          reason: `Not opening "${entry.name}": ${problem.message}`,
        });
        continue;
      }
      this.#openRemote(entry, out);
    }
  }

  // ---- output ----

  #openRemote(f: Entry, out: SessionOutput): void {
    if (f.data === null) {
      f.data = new Uint8Array(f.size);
      this.#heldBytes += f.size;
    }
    f.open = true;
    f.everOpened = true;
    this.#sendCommand({ type: "fileOpen", address: f.address }, out);
    out.events.push({ type: "open", side: "remote", name: f.name, address: f.address });
  }

  #mirrorProblem(f: Entry): TooLargeError | undefined {
    if (f.size > this.#opts.maxFileBytes) {
      return new TooLargeError(`file "${f.name}"`, f.size, this.#opts.maxFileBytes);
    }
    const total = this.#heldBytes + (f.data ? 0 : f.size);
    if (total > this.#opts.maxTotalBytes) {
      return new TooLargeError("files held", total, this.#opts.maxTotalBytes);
    }
    return undefined;
  }

  #sendFileInfos(files: readonly Entry[], out: SessionOutput): void {
    if (files.length === 0) return;
    for (const cmd of packFileInfos(files, this.#opts.batchFileInfo)) this.#sendControl(cmd, out);
  }

  #sendCommand(cmd: Command, out: SessionOutput): void {
    this.#sendControl(encodeCommand(cmd), out);
  }

  #sendControl(bytes: Uint8Array, out: SessionOutput): void {
    out.send.push(
      encodeMessage(encodeWriteMessage({ address: CONTROL_AREA_START, data: bytes }), this.#format),
    );
  }

  #sendWrite(address: number, data: Uint8Array, out: SessionOutput): void {
    // NumHeader16 carries at most 32895 bytes: the 4-byte address header included.
    const max = this.#format === 16
      ? Math.min(this.#opts.maxWriteBytes, NUMHEADER16_MAX - 4)
      : this.#opts.maxWriteBytes;
    for (const m of fragmentWrite(address, data, max)) {
      out.send.push(encodeMessage(encodeWriteMessage(m), this.#format));
    }
  }

  #reject(out: SessionOutput, reason: string): void {
    this.#sendCommand({ type: "nack" }, out);
    out.events.push({ type: "rejected", reason });
  }

  #fail(out: SessionOutput, reason: string): void {
    this.close(reason);
    this.#pendingFile = null;
    out.events.push({ type: "protocolError", reason });
  }

  #checkOpen(): void {
    if (this.#state === "closed") {
      throw new UnavailableError(`RemoteFile session is closed: ${this.#closeReason}`);
    }
  }

  #checkConnected(): void {
    this.#checkOpen();
    if (this.#state !== "connected") {
      throw new UnavailableError("RemoteFile session has not finished its greeting");
    }
  }
}

function output(): SessionOutput {
  return { send: [], events: [] };
}

function status(f: Entry): FileStatus {
  return {
    name: f.name,
    address: f.address,
    size: f.size,
    fileType: f.fileType,
    digestType: f.digestType,
    digest: f.digest.slice(),
    open: f.open,
  };
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`Session option ${name} ${value} is not a positive integer`);
  }
  return value;
}
