/**
 * TLS for peer connections through `node:tls`, over a socket that Deno
 * opened or accepted. node:tls is used because it can show the peer's
 * certificate and can ask a client for one (Deno.connectTls and
 * Deno.listenTls cannot; see FIELD-NOTES), and BEP identifies peers by the
 * SHA-256 of their certificate. Running it over a Deno.Conn rather than a
 * node:net socket keeps accepting in our own loop, which survives EMFILE
 * (a node:net server here stops accepting for good after one), and gives TLS
 * over unix sockets for free.
 */
import tls from "node:tls";
import { UnavailableError } from "../lib/errors.ts";
import { duplexOf } from "./node_stream.ts";

/** The certificate and trust of one side of a TLS connection. */
export interface TlsOptions {
  /** PEM certificate (chain) presented to the peer. */
  cert: string;
  /** PEM private key of `cert`. */
  key: string;
  /** ALPN protocols offered (client) or accepted (server), in order of preference. */
  alpnProtocols?: string[];
  /**
   * PEM CA certificates the peer's certificate must chain to. Unset: no chain
   * is checked, and the peer is identified by `peerCertificate.sha256`, as
   * BEP does; the caller must check it.
   */
  ca?: string | string[];
}

export interface TlsClientOptions extends TlsOptions {
  /** SNI and, with `ca`, the name the certificate must carry. */
  serverName?: string;
}

export interface TlsServerOptions extends TlsOptions {
  /**
   * Whether a client must present a certificate: "require" (default; the
   * handshake fails without one), "request" (optional), or "none".
   */
  clientCertificate?: "require" | "request" | "none";
}

/** The peer's certificate: BEP's device id is the SHA-256 of `der`. */
export interface PeerCertificate {
  /** The certificate as sent, DER-encoded. */
  der: Uint8Array;
  /** SHA-256 of `der`. */
  sha256: Uint8Array;
}

/** A handshaken TLS socket and what it learned of the peer. */
export interface TlsSession {
  socket: tls.TLSSocket;
  peerCertificate?: PeerCertificate;
  alpnProtocol?: string;
}

/** A server's TLS settings, prepared once per listener. */
export interface TlsServer {
  context: tls.SecureContext;
  options: TlsServerOptions;
}

/** Prepares a listener's TLS settings; throws on a bad certificate or key. */
export function tlsServer(options: TlsServerOptions): TlsServer {
  const { cert, key, ca } = options;
  return { context: tls.createSecureContext({ cert, key, ca }), options };
}

/** Runs the client side of a handshake over `conn`. */
export function tlsConnect(conn: Deno.Conn, opts: TlsClientOptions): Promise<TlsSession> {
  const socket = tls.connect({
    socket: duplexOf(conn),
    cert: opts.cert,
    key: opts.key,
    ca: opts.ca,
    rejectUnauthorized: opts.ca !== undefined,
    servername: opts.serverName,
    ALPNProtocols: opts.alpnProtocols,
  });
  return handshake(socket, "secureConnect", "require");
}

/** Runs the server side of a handshake over an accepted `conn`. */
export function tlsAccept(conn: Deno.Conn, server: TlsServer): Promise<TlsSession> {
  const mode = server.options.clientCertificate ?? "require";
  const socket = new tls.TLSSocket(duplexOf(conn), {
    isServer: true,
    secureContext: server.context,
    requestCert: mode !== "none",
    rejectUnauthorized: mode === "require" && server.options.ca !== undefined,
    ALPNProtocols: server.options.alpnProtocols,
  });
  return handshake(socket, "secure", mode);
}

function handshake(
  socket: tls.TLSSocket,
  event: "secure" | "secureConnect",
  certificate: "require" | "request" | "none",
): Promise<TlsSession> {
  return new Promise((resolve, reject) => {
    const fail = (cause: unknown) => {
      off();
      socket.destroy();
      reject(new UnavailableError("TLS handshake failed", { cause }));
    };
    const closed = () => fail(new Error("The connection closed during the handshake"));
    const secure = async () => {
      off();
      const raw = socket.getPeerCertificate(true)?.raw;
      if (!raw?.length && certificate === "require") {
        return fail(new Error("The peer sent no certificate"));
      }
      const der = raw?.length ? new Uint8Array(raw) : undefined;
      const peerCertificate = der && {
        der,
        sha256: new Uint8Array(await crypto.subtle.digest("SHA-256", der)),
      };
      resolve({ socket, peerCertificate, alpnProtocol: socket.alpnProtocol || undefined });
    };
    const off = () => {
      socket.off(event, secure).off("error", fail).off("close", closed).off("end", closed);
      socket.on("error", () => {}); // from now on errors reach the reader and writers
    };
    socket.once(event, secure).once("error", fail).once("close", closed).once("end", closed);
  });
}
