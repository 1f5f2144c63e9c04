/**
 * A client connection's life: connect to the peer, serve the link until the
 * connection drops, wait with backoff, connect again: the house's
 * ReconnectingSession around a RemoteFileLink. Each run greets anew
 * (NumHeader32) with a new session that announces our files again; the
 * link's mirrors stay meanwhile.
 */
import type { Logger } from "../lib/log.ts";
import { numHeaderFrame } from "../protocols/remotefile/num_header.ts";
import { PeerConnection } from "./peer_connection.ts";
import { ReconnectingSession } from "./reconnecting_session.ts";
import type { RemoteFileLink } from "./remotefile_link.ts";

/** Timing of client connections; see the bridge's settings. */
export interface ClientTiming {
  connectTimeoutMs: number;
  /** A message, once begun, must arrive whole within this. */
  readTimeoutMs: number;
  /** Backoff between tries: from baseMs up to maxMs; a connection up stableMs resets it. */
  baseMs: number;
  maxMs: number;
  stableMs: number;
}

/** The reconnect loop of a client link (not started). */
export function clientRunner(
  link: RemoteFileLink,
  maxMessageBytes: number,
  timing: ClientTiming,
  log: Logger,
): ReconnectingSession<PeerConnection> {
  const address = link.address;
  if (!address) throw new TypeError(`Connection ${link.id} has no address to connect to`);
  return new ReconnectingSession<PeerConnection>({
    name: `remotefile ${link.id}`,
    baseMs: timing.baseMs,
    maxMs: timing.maxMs,
    stableMs: timing.stableMs,
    connectTimeoutMs: timing.connectTimeoutMs,
    log,
  }, {
    async connect(signal) {
      link.setState("connecting");
      try {
        return await PeerConnection.connect({
          address,
          frameHeader: numHeaderFrame(32),
          maxFrameBytes: maxMessageBytes,
          readTimeoutMs: timing.readTimeoutMs,
          // RemoteFile never hands its stream on, and its deltas are a few bytes each.
          bufferedReads: true,
          connectTimeoutMs: timing.connectTimeoutMs,
          signal,
        });
      } catch (e) {
        link.setState("backing-off", e instanceof Error ? e.message : String(e));
        throw e;
      }
    },
    serve: (conn, signal) => link.serve(conn, signal),
  });
}
