/**
 * The MVDS HTTP transport's outbound side: POSTs an encoded Payload to a
 * peer's url (`application/x-protobuf`, `X-MVDS-Peer: <our node id>`, and
 * the gateway's API key as a bearer token when one is configured). A send
 * that fails or times out is a lost payload, which MVDS retransmission
 * repairs, so `post` never throws. Connections go only to the urls users
 * gave their peers.
 *
 * @example
 * ```ts
 * const http = new MvdsHttpTransport({ timeoutMs: 5000, log });
 * await http.post("http://bob:8000/mvds/nodes/0x…/payloads", alice, bytes); // true: 2xx
 * ```
 */
import { toHex0x } from "../lib/bytes.ts";
import type { Logger } from "../lib/log.ts";
import type { Service } from "./service.ts";

export interface MvdsHttpTransportOptions {
  /** The gateway's API key, sent to peers (gateways that peer share one). */
  apiKey?: string;
  /** Per POST. */
  timeoutMs: number;
  log: Logger;
}

/** The header naming the sending node. */
export const PEER_HEADER = "x-mvds-peer";

export class MvdsHttpTransport implements Service {
  readonly #stopping = new AbortController();
  readonly #inFlight = new Set<Promise<boolean>>();

  constructor(private readonly opts: MvdsHttpTransportOptions) {}

  start(): void {}

  /** Aborts the POSTs in flight and waits for them. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await Promise.all(this.#inFlight);
  }

  /** POSTs a payload; true when the peer answered 2xx, false for anything else. */
  post(url: string, from: Uint8Array, payload: Uint8Array): Promise<boolean> {
    if (this.#stopping.signal.aborted) return Promise.resolve(false);
    const p = this.#post(url, from, payload);
    this.#inFlight.add(p);
    p.finally(() => this.#inFlight.delete(p));
    return p;
  }

  async #post(url: string, from: Uint8Array, payload: Uint8Array): Promise<boolean> {
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/x-protobuf",
          [PEER_HEADER]: toHex0x(from),
          ...(this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {}),
        },
        body: payload as Uint8Array<ArrayBuffer>,
        // Only the url a user configured: a redirect is a refusal, not a new destination.
        redirect: "manual",
        signal: AbortSignal.any([
          AbortSignal.timeout(this.opts.timeoutMs),
          this.#stopping.signal,
        ]),
      });
      await res.body?.cancel();
      if (!res.ok) {
        this.opts.log.debug("MVDS payload refused by peer", { url, status: res.status });
      }
      return res.ok;
    } catch (e) {
      this.opts.log.debug("MVDS payload not delivered", { url, error: (e as Error).message });
      return false;
    }
  }
}
