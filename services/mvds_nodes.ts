/**
 * MVDS nodes, their peers and groups (a part of services/mvds_service.ts):
 * creating a node, reading it, adding a peer, and making a peer share a
 * group (which gives a late joiner the group's messages the node holds).
 */
import { compareBytes, toHex0x } from "../lib/bytes.ts";
import { ConflictError, InvalidInputError } from "../lib/errors.ts";
import { type Mode, outgoingRecord } from "../protocols/mvds/node.ts";
import { type MvdsSettings, mvdsSettings } from "../protocols/mvds/record.ts";
import type { NodeConfig, NodeCounts, PeerInfo, StoredMessage } from "../storage/mvds_repo.ts";
import { MVDS_LIMITS, type MvdsCore } from "./mvds_core.ts";

/** What createNode takes. */
export interface NodeInput {
  id?: Uint8Array;
  mode: Mode;
  epochMs?: number;
  backoffCapEpochs?: number;
  maxSendCount?: number;
}

/** A node as GET /mvds/nodes/{node} shows it. */
export interface NodeInfo {
  id: Uint8Array;
  config: NodeConfig;
  epoch: number;
  counts: NodeCounts;
  peers: { peer: Uint8Array; info: PeerInfo }[];
}

export class MvdsNodes {
  constructor(private readonly core: MvdsCore) {}

  /** Creates a node (32 random id bytes unless given); ConflictError if the id is taken. */
  async createNode(input: NodeInput): Promise<{ id: Uint8Array; config: NodeConfig }> {
    const id = input.id ?? crypto.getRandomValues(new Uint8Array(32));
    let s: MvdsSettings;
    try {
      s = mvdsSettings(input);
    } catch (e) {
      throw new InvalidInputError(undefined, (e as Error).message, { cause: e });
    }
    const config: NodeConfig = {
      mode: input.mode,
      epochMs: s.epochMs,
      backoffCapEpochs: s.backoffCapEpochs,
      ...(s.maxSendCount !== undefined ? { maxSendCount: s.maxSendCount } : {}),
      createdAt: this.core.now(),
    };
    if (!(await this.core.repo.createNode(id, config))) {
      throw new ConflictError(`Node ${toHex0x(id)} exists already`);
    }
    return { id, config };
  }

  /** A node's config; NotFoundError for an unknown node. */
  async config(node: Uint8Array): Promise<NodeConfig> {
    return (await this.core.node(node)).config;
  }

  /** A node with its current epoch, counters and peers. */
  async nodeInfo(node: Uint8Array): Promise<NodeInfo> {
    const { config } = await this.core.node(node);
    const [counts, peers] = await Promise.all([
      this.core.repo.counts(node),
      this.core.repo.peers(node, MVDS_LIMITS.peersPerNode),
    ]);
    return { id: node, config, epoch: this.core.epoch(config), counts, peers };
  }

  /**
   * Adds a peer, or changes its url (`url` absent: it connects by
   * WebSocket). Returns whether it was new.
   */
  async addPeer(node: Uint8Array, peer: Uint8Array, url?: string): Promise<boolean> {
    const { core } = this;
    await core.node(node);
    if (compareBytes(node, peer) === 0) {
      throw new InvalidInputError("id", "is this node's own id; a node is not its own peer");
    }
    return await core.locked(node, () =>
      core.attempt(node, async () => {
        const info = await core.repo.peer(node, peer);
        if (
          !info &&
          (await core.repo.peers(node, MVDS_LIMITS.peersPerNode)).length >= MVDS_LIMITS.peersPerNode
        ) {
          throw new ConflictError(
            `Node ${toHex0x(node)} has ${MVDS_LIMITS.peersPerNode} peers, the most it may have`,
          );
        }
        const next: PeerInfo = {
          ...(url ? { url } : {}),
          ...(info?.lastHeardEpoch !== undefined ? { lastHeardEpoch: info.lastHeardEpoch } : {}),
        };
        return { changes: { peers: [{ peer, info: next }] }, result: info === null };
      }));
  }

  /**
   * Makes `peer` share `group`. A peer that joins late is given every
   * message the node already holds in the group (except those it sent
   * us): records are written first, the membership last, so a crash in
   * between leaves at most records for a peer not yet in the group
   * (harmless, and calling again completes it). Returns whether the
   * membership is new and how many messages were made pending for the peer.
   */
  async addGroupPeer(
    node: Uint8Array,
    group: Uint8Array,
    peer: Uint8Array,
  ): Promise<{ added: boolean; shared: number }> {
    const { core } = this;
    const { config } = await core.node(node);
    core.checkGroup(group);
    return await core.locked(node, async () => {
      if (!(await core.repo.peer(node, peer))) {
        throw new InvalidInputError(
          "peer",
          `${
            toHex0x(peer)
          } is not a peer of this node; add it with POST /mvds/nodes/{node}/peers first`,
        );
      }
      const members = await core.repo.groupPeers(node, group, MVDS_LIMITS.peersPerGroup + 1);
      if (members.some((p) => compareBytes(p, peer) === 0)) return { added: false, shared: 0 };
      if (members.length >= MVDS_LIMITS.peersPerGroup) {
        throw new ConflictError(
          `Group ${toHex0x(group)} has ${MVDS_LIMITS.peersPerGroup} peers, the most it may have`,
        );
      }
      const groups = await core.repo.peerGroups(node, peer, MVDS_LIMITS.groupsPerPeer);
      if (groups.length >= MVDS_LIMITS.groupsPerPeer) {
        throw new ConflictError(
          `Peer ${toHex0x(peer)} shares ${MVDS_LIMITS.groupsPerPeer} groups, the most it may`,
        );
      }
      let shared = 0;
      let afterSeq = 0;
      for (;;) {
        // One page of the group's messages per commit; the membership once none is left.
        const step = await core.attempt(node, async () => {
          const page = await core.repo.messagesAfter(
            node,
            group,
            afterSeq,
            MVDS_LIMITS.recordsPerCommit,
          );
          if (page.length === 0) {
            return { changes: { members: [{ group, peer }] }, result: undefined };
          }
          const theirs = (m: StoredMessage) => m.from && compareBytes(m.from, peer) === 0;
          const mine = page.filter((m) => !theirs(m.message));
          const existing = await core.repo.records(node, peer, mine.map((m) => m.id));
          const epoch = core.epoch(config);
          const records = mine.flatMap((m, i) =>
            existing[i] ? [] : [{ peer, after: outgoingRecord(m.id, config.mode, epoch) }]
          );
          return {
            changes: { records },
            result: { n: records.length, seq: page.at(-1)!.message.seq },
          };
        });
        if (!step) return { added: true, shared };
        shared += step.n;
        afterSeq = step.seq;
      }
    });
  }
}
