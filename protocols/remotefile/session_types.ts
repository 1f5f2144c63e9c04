/**
 * The shapes a RemoteFileSession takes and gives: its options, the status of
 * a file, the events it reports and the output of every input. Re-exported
 * by session.ts.
 */
import type { NumHeaderFormat } from "./num_header.ts";

/** Which end of the connection this session is. */
export type SessionRole = "client" | "server";

/** `greeting`: before the handshake is done; `connected`; `closed` after a protocol error or close(). */
export type SessionState = "greeting" | "connected" | "closed";

/** Default largest file, local or mirrored: 16 MiB. */
export const DEFAULT_MAX_FILE_BYTES = 16 << 20;
/** Default bound on all file bytes a session holds (local and mirrored): 64 MiB. */
export const DEFAULT_MAX_TOTAL_BYTES = 64 << 20;
/** Files a peer may announce; an APX node has three (`.apx`, `.out`, `.in`). */
export const DEFAULT_MAX_REMOTE_FILES = 256;
/** Default largest data part of one outgoing write message; longer writes are fragmented. */
export const DEFAULT_MAX_WRITE_BYTES = 64 << 10;

/** Options of a session. */
export interface SessionOptions {
  role: SessionRole;
  /** Open every file the peer announces (default), none, or those a predicate picks. */
  autoOpen?: boolean | ((file: FileStatus) => boolean);
  /** Client: the NumHeader format to announce and use; default 32. A server uses the client's. */
  numHeaderFormat?: NumHeaderFormat;
  /** Largest incoming message body; default DEFAULT_MAX_MESSAGE_BYTES. Checked before allocating. */
  maxMessageBytes?: number;
  /** Largest file published or mirrored; default DEFAULT_MAX_FILE_BYTES. */
  maxFileBytes?: number;
  /** Largest sum of file bytes held (local plus mirrored); default DEFAULT_MAX_TOTAL_BYTES. */
  maxTotalBytes?: number;
  /**
   * Files the peer may have announced at once; past it FILE_INFO is refused
   * (NACK), since even empty files cost state. Default DEFAULT_MAX_REMOTE_FILES.
   */
  maxRemoteFiles?: number;
  /** Largest data part of an outgoing write message; default DEFAULT_MAX_WRITE_BYTES. */
  maxWriteBytes?: number;
  /** Pack several FileInfos in one command (c-apx 0.3 cannot read that); default false. */
  batchFileInfo?: boolean;
}

/** A file as status pages show it: its FileInfo and whether it is open. */
export interface FileStatus {
  name: string;
  address: number;
  size: number;
  fileType: number;
  digestType: number;
  /** 32 bytes. */
  digest: Uint8Array;
  /** Local file: the peer has it open. Remote file: we have it open. */
  open: boolean;
}

/** `local`: one of our files (the peer acted on it, or we revoked it); `remote`: one of the peer's. */
export type FileSide = "local" | "remote";

/** What happened, for the service to log, persist and fan out. */
export type SessionEvent =
  | {
    type: "greetingAccepted";
    numHeaderFormat: NumHeaderFormat;
    attributes: Record<string, string>;
  }
  | { type: "fileInfo"; file: FileStatus }
  | { type: "open"; side: FileSide; name: string; address: number }
  | { type: "close"; side: FileSide; name: string; address: number }
  | { type: "revoke"; side: FileSide; name: string; address: number }
  /** A whole write into a mirrored remote file; `data` may be a view of the received message. */
  | { type: "write"; name: string; address: number; offset: number; data: Uint8Array }
  | { type: "ack" }
  | { type: "nack" }
  | { type: "heartbeat" }
  | { type: "pong"; address: number; seconds: number; milliseconds: number }
  /** A command we could not take; the peer got a NACK. */
  | { type: "rejected"; reason: string }
  /** Something dropped without harm (a write racing our close, a file too large to open). */
  | { type: "ignored"; reason: string }
  /** Fatal: the session is closed; close the connection with this reason. */
  | { type: "protocolError"; reason: string };

/** What an input produced: framed messages to send, in order, and events. */
export interface SessionOutput {
  send: Uint8Array[];
  events: SessionEvent[];
}

/** A local file to publish. */
export interface PublishFileOptions {
  name: string;
  size: number;
  /** Start address; default: allocated as APX does (by the name's extension). */
  address?: number;
  fileType?: number;
  digestType?: number;
  digest?: Uint8Array;
  /** Initial content (at most `size` bytes; the rest is zeros). */
  data?: Uint8Array;
}
