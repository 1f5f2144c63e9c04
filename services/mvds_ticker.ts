/**
 * The epoch ticker for MVDS peers reached over HTTP: at each node's epoch
 * boundary it builds every such peer's payload (MvdsService.tickPeer,
 * committed first) and POSTs it. It runs under a lease (runUnderLease), so
 * one process of those sharing a KV sends each epoch's payloads; another
 * takes over when it dies. Peers without a url (WebSocket peers) are served
 * by the process holding their socket (services/mvds_session.ts), not here.
 *
 * A peer whose previous POST is still in flight is skipped for the epoch
 * (its records stay due), so a slow peer never has more than one payload
 * outstanding. A peer that answers a POST (2xx) counts as heard from
 * (MvdsService.peerSeen), as when its own payload comes.
 */
import { toHex0x } from "../lib/bytes.ts";
import { delay } from "../lib/delay.ts";
import type { Logger } from "../lib/log.ts";
import { idKey } from "../protocols/mvds/message_id.ts";
import type { NodeConfig } from "../storage/mvds_repo.ts";
import { MVDS_LIMITS, type MvdsService } from "./mvds_service.ts";
import type { MvdsHttpTransport } from "./mvds_transport.ts";

export interface MvdsTickerOptions {
  /** How often the list of nodes is read again (nodes created meanwhile join then). */
  nodeRefreshMs?: number;
  log: Logger;
}

export class MvdsTicker {
  /** Last epoch ticked, per node. */
  readonly #ticked = new Map<string, number>();
  /** node/peer pairs with a POST in flight. */
  readonly #busy = new Set<string>();

  constructor(
    private readonly mvds: MvdsService,
    private readonly http: MvdsHttpTransport,
    private readonly opts: MvdsTickerOptions,
  ) {}

  /**
   * One epoch of a node: builds and sends the payload of each HTTP peer
   * that has something due. Returns how many payloads went out.
   */
  async tick(node: Uint8Array, epoch?: number): Promise<number> {
    const peers = (await this.mvds.repo.peers(node, MVDS_LIMITS.peersPerNode))
      .filter((p) => p.info.url);
    let sent = 0;
    const config = await this.mvds.config(node);
    await Promise.all(peers.map(async ({ peer, info }) => {
      const key = `${idKey(node)}/${idKey(peer)}`;
      if (this.#busy.has(key)) return;
      const since = this.mvds.epoch(config);
      const bytes = await this.mvds.tickPeer(node, peer, epoch);
      if (!bytes) return;
      sent++;
      this.#busy.add(key);
      this.http.post(info.url!, node, bytes)
        .then(async (answered) => {
          // An answer is hearing from the peer: without this, a peer that only ACKs (and so
          // says nothing until our payload is handled) would count as returning each time.
          if (answered) await this.mvds.peerSeen(node, peer, since);
        })
        .catch((e) => this.opts.log.warn("MVDS peer not marked heard", { error: e }))
        .finally(() => this.#busy.delete(key));
    }));
    return sent;
  }

  /** Ticks every node at its epoch boundaries until `signal` aborts (the leased job). */
  async run(signal: AbortSignal): Promise<void> {
    const refreshMs = this.opts.nodeRefreshMs ?? 1000;
    let nodes: { node: Uint8Array; config: NodeConfig }[] = [];
    let refreshed = -Infinity;
    while (!signal.aborted) {
      if (performance.now() - refreshed >= refreshMs) {
        nodes = await this.mvds.repo.nodes();
        refreshed = performance.now();
      }
      let wait = refreshMs;
      await Promise.all(nodes.map(async ({ node, config }) => {
        const k = idKey(node);
        const epoch = this.mvds.epoch(config);
        wait = Math.min(wait, this.mvds.msToNextEpoch(config));
        if (this.#ticked.get(k) === epoch) return;
        this.#ticked.set(k, epoch);
        try {
          await this.tick(node, epoch);
        } catch (e) {
          this.opts.log.warn("MVDS tick failed", { node: toHex0x(node), error: e });
        }
      }));
      await delay(Math.max(1, wait), { signal }).catch(() => {});
    }
  }
}
