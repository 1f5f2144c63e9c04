/**
 * Control commands: what one side writes to the other's control area
 * (0x3FFFFC00). A command is at most 1024 bytes; its fields are
 * little-endian; the first u32 is its CmdType.
 *
 * Decoding is strict about sizes (a command shorter or longer than its type
 * says is refused) and lenient where the reference is: FileType and
 * DigestType are kept as numbers whatever their value (newer c-apx defines
 * file types up to 5), and names may hold dots (`Node.apx`).
 *
 * Errors: SyntaxError for bytes that are not a command (truncated, unknown
 * type, a name without its NUL), RangeError for a field or size out of range.
 *
 * @example
 * ```ts
 * encodeCommand({ type: "fileOpen", address: 0x4000000 }); // [0x0a,0,0,0, 0,0,0,0x04]
 * decodeCommand(new Uint8Array([0, 0, 0, 0]));              // { type: "ack" }
 * ```
 */
import { CONTROL_AREA_SIZE, CONTROL_AREA_START, hexAddress } from "./address.ts";

/** CmdType values, as the spec names them. */
export const RMF_CMD_ACK = 0;
export const RMF_CMD_NACK = 1;
export const RMF_CMD_FILE_INFO = 3;
export const RMF_CMD_REVOKE_FILE = 4;
export const RMF_CMD_HEARTBEAT_RQST = 5;
export const RMF_CMD_HEARTBEAT_RSP = 6;
export const RMF_CMD_PING_RQST = 7;
export const RMF_CMD_PING_RSP = 8;
export const RMF_CMD_FILE_OPEN = 10;
export const RMF_CMD_FILE_CLOSE = 11;

/** FileType values the spec defines. */
export const FILE_TYPE_FIXED = 0;
export const FILE_TYPE_DYNAMIC = 1;
export const FILE_TYPE_STREAM = 2;
/** DigestType values the spec defines. */
export const DIGEST_TYPE_NONE = 0;
export const DIGEST_TYPE_SHA1 = 1;
export const DIGEST_TYPE_SHA256 = 2;

/** Bytes of DigestData in a FileInfo. */
export const DIGEST_SIZE = 32;
/** Bytes of a FileInfo before its name (CmdType included). */
export const FILE_INFO_BASE_SIZE = 48;
/** Longest file name: 1024 − 48 − 1 (the NUL). */
export const MAX_FILE_NAME_BYTES = CONTROL_AREA_SIZE - FILE_INFO_BASE_SIZE - 1;
/** Highest start address of a file: 2^30 − 1025, the byte before the control area. */
export const FILE_ADDRESS_MAX = CONTROL_AREA_START - 1;
/** Largest file: 2^30 − 1024, everything below the control area. */
export const FILE_SIZE_MAX = CONTROL_AREA_START;
/** The ping address that targets no file. */
export const PING_NO_FILE = 0xffffffff;

/** One file as FILE_INFO announces it. */
export interface FileInfo {
  /** Start address: the file's identity on this connection. */
  address: number;
  size: number;
  name: string;
  /** FILE_TYPE_*; default FILE_TYPE_FIXED. */
  fileType?: number;
  /** DIGEST_TYPE_*; default DIGEST_TYPE_NONE. */
  digestType?: number;
  /** 32 bytes (a SHA-1 digest is padded with zeros); default zeros. */
  digest?: Uint8Array;
}

/** A control command. */
export type Command =
  | { type: "ack" }
  | { type: "nack" }
  | { type: "fileInfo"; files: FileInfo[] }
  | { type: "revokeFile"; address: number }
  | { type: "heartbeatRequest" }
  | { type: "heartbeatResponse" }
  | { type: "pingRequest"; address: number; seconds: number; milliseconds: number }
  | { type: "pingResponse"; address: number; seconds: number; milliseconds: number }
  | { type: "fileOpen"; address: number }
  | { type: "fileClose"; address: number };

const SIMPLE: Record<string, number> = {
  ack: RMF_CMD_ACK,
  nack: RMF_CMD_NACK,
  heartbeatRequest: RMF_CMD_HEARTBEAT_RQST,
  heartbeatResponse: RMF_CMD_HEARTBEAT_RSP,
};
const WITH_ADDRESS: Record<string, number> = {
  revokeFile: RMF_CMD_REVOKE_FILE,
  fileOpen: RMF_CMD_FILE_OPEN,
  fileClose: RMF_CMD_FILE_CLOSE,
};

/** Names a file may have: visible ASCII, no spaces (the spec says `[0-9a-zA-Z_]+`; real ones have dots). */
const NAME = /^[\x21-\x7e]+$/;

/** Checks a file name; the problem as a sentence, or undefined when it is fine. */
export function fileNameProblem(name: string): string | undefined {
  if (name.length === 0) return "is empty";
  if (name.length > MAX_FILE_NAME_BYTES) {
    return `is ${name.length} bytes; the limit is ${MAX_FILE_NAME_BYTES}`;
  }
  if (!NAME.test(name)) return "has characters other than visible ASCII";
  return undefined;
}

/** What is wrong with a FileInfo: the field to blame and a sentence about it. */
export interface FileInfoProblem {
  field: "name" | "address" | "size" | "fileType" | "digestType" | "digest";
  problem: string;
}

/** Checks a FileInfo's fields; undefined when they are fine. */
export function fileInfoProblem(f: FileInfo): FileInfoProblem | undefined {
  const bad = (field: FileInfoProblem["field"], problem: string) => ({ field, problem });
  const nameProblem = fileNameProblem(f.name);
  if (nameProblem) return bad("name", `${JSON.stringify(f.name.slice(0, 40))} ${nameProblem}`);
  if (!isU32(f.address) || f.address > FILE_ADDRESS_MAX) {
    return bad(
      "address",
      `${f.address} is not below the control area (0–${hexAddress(FILE_ADDRESS_MAX)})`,
    );
  }
  if (!isU32(f.size) || f.size > FILE_SIZE_MAX) {
    return bad("size", `${f.size} is not 0–${FILE_SIZE_MAX}`);
  }
  if (f.address + f.size > CONTROL_AREA_START) {
    return bad(
      "address",
      `${hexAddress(f.address)} with ${f.size} bytes runs into the control area`,
    );
  }
  if (f.fileType !== undefined && !isU16(f.fileType)) {
    return bad("fileType", `${f.fileType} is not a u16`);
  }
  if (f.digestType !== undefined && !isU16(f.digestType)) {
    return bad("digestType", `${f.digestType} is not a u16`);
  }
  if (f.digest !== undefined && f.digest.length > DIGEST_SIZE) {
    return bad("digest", `is ${f.digest.length} bytes; the limit is ${DIGEST_SIZE}`);
  }
  return undefined;
}

/** Encodes a command; RangeError for a field out of range or a command over 1024 bytes. */
export function encodeCommand(cmd: Command): Uint8Array {
  if (cmd.type in SIMPLE) return u32s([SIMPLE[cmd.type]]);
  if (cmd.type in WITH_ADDRESS) {
    const { address } = cmd as { address: number };
    if (!isU32(address)) throw new RangeError(`Command address ${address} is not a u32`);
    return u32s([WITH_ADDRESS[cmd.type], address]);
  }
  if (cmd.type === "pingRequest" || cmd.type === "pingResponse") {
    for (const k of ["address", "seconds", "milliseconds"] as const) {
      if (!isU32(cmd[k])) throw new RangeError(`Ping ${k} ${cmd[k]} is not a u32`);
    }
    const type = cmd.type === "pingRequest" ? RMF_CMD_PING_RQST : RMF_CMD_PING_RSP;
    return u32s([type, cmd.address, cmd.seconds, cmd.milliseconds]);
  }
  if (cmd.type === "fileInfo") return encodeFileInfos(cmd.files);
  throw new RangeError(`Unknown command type ${JSON.stringify((cmd as { type: string }).type)}`);
}

/**
 * Encodes one FILE_INFO command holding `files` (the CmdType once, then each
 * struct from its StartAddress on). RangeError when a field is out of range,
 * there are none, or the whole is over 1024 bytes.
 */
export function encodeFileInfos(files: readonly FileInfo[]): Uint8Array {
  if (files.length === 0) throw new RangeError("FILE_INFO needs at least one file");
  let size = 4;
  for (const f of files) {
    const bad = fileInfoProblem(f);
    if (bad) throw new RangeError(`FileInfo ${bad.field} ${bad.problem}`);
    size += FILE_INFO_BASE_SIZE - 4 + f.name.length + 1;
  }
  if (size > CONTROL_AREA_SIZE) {
    throw new RangeError(`FILE_INFO of ${size} bytes exceeds the ${CONTROL_AREA_SIZE}-byte limit`);
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, RMF_CMD_FILE_INFO, true);
  let at = 4;
  for (const f of files) {
    view.setUint32(at, f.address, true);
    view.setUint32(at + 4, f.size, true);
    view.setUint16(at + 8, f.fileType ?? FILE_TYPE_FIXED, true);
    view.setUint16(at + 10, f.digestType ?? DIGEST_TYPE_NONE, true);
    if (f.digest) out.set(f.digest, at + 12);
    at += 12 + DIGEST_SIZE;
    for (let i = 0; i < f.name.length; i++) out[at + i] = f.name.charCodeAt(i);
    at += f.name.length + 1; // the NUL is already there
  }
  return out;
}

/**
 * Packs files into as few FILE_INFO commands as fit 1024 bytes each, or one
 * command per file when `batch` is false (c-apx 0.3 reads one per command).
 */
export function packFileInfos(files: readonly FileInfo[], batch = false): Uint8Array[] {
  if (!batch) return files.map((f) => encodeFileInfos([f]));
  const out: Uint8Array[] = [];
  let group: FileInfo[] = [];
  let size = 4;
  for (const f of files) {
    const one = FILE_INFO_BASE_SIZE - 4 + f.name.length + 1;
    if (group.length > 0 && size + one > CONTROL_AREA_SIZE) {
      out.push(encodeFileInfos(group));
      group = [];
      size = 4;
    }
    group.push(f);
    size += one;
  }
  if (group.length > 0) out.push(encodeFileInfos(group));
  return out;
}

/** Decodes a command (the whole control-area write). Throws SyntaxError or RangeError. */
export function decodeCommand(bytes: Uint8Array): Command {
  if (bytes.length > CONTROL_AREA_SIZE) {
    throw new RangeError(
      `Command of ${bytes.length} bytes exceeds the ${CONTROL_AREA_SIZE}-byte control area`,
    );
  }
  if (bytes.length < 4) {
    throw new SyntaxError(`Command of ${bytes.length} bytes is shorter than its CmdType`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const cmdType = view.getUint32(0, true);
  const exact = (size: number, name: string) => {
    if (bytes.length !== size) {
      throw new SyntaxError(`${name} is ${bytes.length} bytes; it must be ${size}`);
    }
  };
  const u32 = (at: number) => view.getUint32(at, true);
  switch (cmdType) {
    case RMF_CMD_ACK:
      exact(4, "ACK");
      return { type: "ack" };
    case RMF_CMD_NACK:
      exact(4, "NACK");
      return { type: "nack" };
    case RMF_CMD_HEARTBEAT_RQST:
      exact(4, "HEARTBEAT_RQST");
      return { type: "heartbeatRequest" };
    case RMF_CMD_HEARTBEAT_RSP:
      exact(4, "HEARTBEAT_RSP");
      return { type: "heartbeatResponse" };
    case RMF_CMD_REVOKE_FILE:
      exact(8, "REVOKE_FILE");
      return { type: "revokeFile", address: u32(4) };
    case RMF_CMD_FILE_OPEN:
      exact(8, "FILE_OPEN");
      return { type: "fileOpen", address: u32(4) };
    case RMF_CMD_FILE_CLOSE:
      exact(8, "FILE_CLOSE");
      return { type: "fileClose", address: u32(4) };
    case RMF_CMD_PING_RQST:
    case RMF_CMD_PING_RSP:
      exact(16, cmdType === RMF_CMD_PING_RQST ? "PING_RQST" : "PING_RSP");
      return {
        type: cmdType === RMF_CMD_PING_RQST ? "pingRequest" : "pingResponse",
        address: u32(4),
        seconds: u32(8),
        milliseconds: u32(12),
      };
    case RMF_CMD_FILE_INFO:
      return { type: "fileInfo", files: decodeFileInfos(bytes, view) };
    default:
      throw new SyntaxError(`Unknown command type ${cmdType}`);
  }
}

function decodeFileInfos(bytes: Uint8Array, view: DataView): FileInfo[] {
  const files: FileInfo[] = [];
  let at = 4;
  do {
    if (bytes.length - at < FILE_INFO_BASE_SIZE - 4 + 1) {
      throw new SyntaxError(
        `FILE_INFO entry ${files.length + 1} is truncated: ${bytes.length - at} bytes left`,
      );
    }
    const nameStart = at + 12 + DIGEST_SIZE;
    const nul = bytes.indexOf(0, nameStart);
    if (nul < 0) {
      throw new SyntaxError(`FILE_INFO entry ${files.length + 1} has no NUL after its name`);
    }
    const file: FileInfo = {
      address: view.getUint32(at, true),
      size: view.getUint32(at + 4, true),
      fileType: view.getUint16(at + 8, true),
      digestType: view.getUint16(at + 10, true),
      digest: bytes.slice(at + 12, nameStart),
      name: String.fromCharCode(...bytes.subarray(nameStart, nul)),
    };
    const bad = fileInfoProblem(file);
    if (bad) {
      // A number out of range is a RangeError; a name that is not a name, a SyntaxError.
      const Err = bad.field === "name" ? SyntaxError : RangeError;
      throw new Err(`FILE_INFO entry ${files.length + 1}: ${bad.field} ${bad.problem}`);
    }
    files.push(file);
    at = nul + 1;
  } while (at < bytes.length);
  return files;
}

function u32s(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint32(i * 4, v, true));
  return out;
}

const isU32 = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
const isU16 = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffff;
