/**
 * @deprecated The TCP listener became PeerListener (services/peer_listener.ts),
 * which listens on TCP, unix sockets and TLS alike, survives failed accepts
 * (EMFILE) and hands its handler a PeerConnection instead of a Deno.Conn.
 * This alias remains only until nothing imports this file.
 */
export {
  type ConnectionHandler,
  PeerListener as TcpServer,
  type PeerListenerOptions as TcpServerOptions,
} from "./peer_listener.ts";
