/**
 * Catch-up of an MVDS node's group from a peer's remote log: a node that was
 * away reads the entries it lacks from the log (on this gateway, or first
 * mirrored from the peer's gateway, every page and entry checked against
 * its CID and the record against the name's key), and stores them as
 * received from the peer that writes the log. Storing goes through the
 * protocol's `receive` (MvdsService.storeAsReceived), so the node ACKs
 * them in its next payload to that peer, and the peer stops retransmitting.
 *
 * Nothing from a log is trusted: each entry must decode as an MVDS Message
 * whose recomputed id is the entry's localHash and whose group is the
 * group caught up; others are counted `invalid` and never stored. Where a
 * catch-up stopped (the last localHash handled) is kept in KV per node,
 * group and log, so the next one reads only newer entries; each request
 * handles at most `limit` entries and says with `next` that more follow.
 *
 * Outbound connections go only to the gateway of a peer the user configured
 * for the node (a peer url `<base>/mvds/nodes/<id>/payloads` names `<base>`).
 *
 * @example
 * ```ts
 * const r = await catchUp.catchUp(node, group, { name, from: "http://a:8000", peer: a, limit: 1000 });
 * // { fetched: 40, stored: 40, skipped: 0, invalid: 0, last: <localHash> }
 * ```
 */
import { equalBytes, toHex0x } from "../lib/bytes.ts";
import {
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  UnavailableError,
} from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { messageId } from "../protocols/mvds/message_id.ts";
import { decodeMessage } from "../protocols/mvds/message_codec.ts";
import type { Message } from "../protocols/mvds/proto.ts";
import type { MvdsRemoteLogRepo } from "../storage/mvds_remote_log_repo.ts";
import { checkGroup } from "./mvds_core.ts";
import { MVDS_LIMITS, type MvdsService } from "./mvds_service.ts";
import { peerBase, type RemoteLogMirror } from "./remote_log_mirror.ts";
import type { RemoteLogService } from "./remote_log_service.ts";

/** Entries read from the log at a time (one storeAsReceived and one cursor write each). */
const PAGE = 100;

/** What a catch-up is asked. */
export interface CatchUpInput {
  /** The log's IPNS name. */
  name: string;
  /** The gateway to mirror the log from first (a configured peer's); absent: read it here. */
  from?: string;
  /** The peer that writes the log; inferred for a log this gateway writes for one of its nodes. */
  peer?: Uint8Array;
  /** Most entries handled. */
  limit: number;
  /** Read the log from its start, not from where the last catch-up stopped. */
  restart?: boolean;
}

/** What a catch-up did. */
export interface CatchUpResult {
  name: string;
  peer: Uint8Array;
  /** Entries read from the log. */
  fetched: number;
  /** Messages stored as new. */
  stored: number;
  /** Valid messages the node held already (ACKed to the peer again all the same). */
  skipped: number;
  /** Entries that are no message of the group (or too large to keep): never stored. */
  invalid: number;
  /** localHash of the last entry handled so far (by this catch-up or an earlier one). */
  last?: Uint8Array;
  /** More entries follow: call again (it resumes after `last`). */
  next?: Uint8Array;
  /** The mirror sync, when `from` was given and it failed (the copy mirrored before was read). */
  mirrorError?: string;
}

export interface MvdsCatchUpOptions {
  /** Makes a mirror allowed to follow logs from these gateways only. */
  mirror: (peers: string[]) => RemoteLogMirror;
  log: Logger;
  now?: () => number;
}

export class MvdsCatchUp {
  readonly #now: () => number;

  constructor(
    private readonly mvds: MvdsService,
    private readonly logs: RemoteLogService,
    private readonly repo: MvdsRemoteLogRepo,
    private readonly opts: MvdsCatchUpOptions,
  ) {
    this.#now = opts.now ?? Date.now;
  }

  /** Catches a node's group up from a log; see the module comment. */
  async catchUp(node: Uint8Array, group: Uint8Array, input: CatchUpInput): Promise<CatchUpResult> {
    await this.mvds.config(node);
    checkGroup(group);
    const name = this.logs.ns.name(input.name).text;
    const writtenFor = await this.repo.backedBy(name);
    const peer = await this.#writer(node, group, name, writtenFor?.node, input.peer);
    let mirrorError: string | undefined;
    // A log written here is read here; mirroring it would only copy it onto itself.
    if (input.from !== undefined && !writtenFor) {
      mirrorError = await this.#mirror(node, name, input.from);
    }
    await this.logs.info(name); // an unknown log is 404 before anything else

    const result: CatchUpResult = { name, peer, fetched: 0, stored: 0, skipped: 0, invalid: 0 };
    if (mirrorError) result.mirrorError = mirrorError;
    let after = input.restart ? undefined : (await this.repo.cursor(node, group, name))?.after;
    while (result.fetched < input.limit) {
      const page = await this.logs.entries(
        name,
        after,
        Math.min(PAGE, input.limit - result.fetched),
      )
        .catch((e) => {
          if (!(after && e instanceof NotFoundError)) throw e;
          throw new ConflictError(
            `${e.message}; the last catch-up stopped there. Catch up with "restart": true to ` +
              "read the log from its start (messages held already are skipped)",
            { cause: e },
          );
        });
      if (page.entries.length === 0) break;
      const valid: Message[] = [];
      for (const entry of page.entries) {
        const message = this.#verify(entry.data, entry.localHash, group);
        if (message) valid.push(message);
        else result.invalid++;
      }
      if (valid.length) {
        const r = await this.mvds.storeAsReceived(node, peer, valid);
        result.stored += r.stored;
        result.invalid += r.tooLarge;
        result.skipped += valid.length - r.stored - r.tooLarge;
      }
      result.fetched += page.entries.length;
      after = page.entries.at(-1)!.localHash;
      // After the store: a crash in between only makes the next catch-up read this page again.
      await this.repo.setCursor(node, group, name, { after, at: this.#now() });
      if (!page.next) break;
      if (result.fetched >= input.limit) result.next = page.next;
    }
    if (after) result.last = after;
    return result;
  }

  /**
   * The peer of `node` that writes the log: the node a log written here
   * backs, or `given`. It must be a peer of the node and share the group.
   */
  async #writer(
    node: Uint8Array,
    group: Uint8Array,
    name: string,
    writtenFor: Uint8Array | undefined,
    given: Uint8Array | undefined,
  ): Promise<Uint8Array> {
    if (writtenFor && equalBytes(writtenFor, node)) {
      throw new InvalidInputError("name", `is this node's own log (${name}); nothing to catch up`);
    }
    if (writtenFor && given && !equalBytes(writtenFor, given)) {
      throw new InvalidInputError(
        "peer",
        `is ${toHex0x(given)}, but ${name} is written here for node ${toHex0x(writtenFor)}`,
      );
    }
    const peer = writtenFor ?? given;
    if (!peer) {
      throw new InvalidInputError(
        "peer",
        `is required: ${name} is not a log this gateway writes for one of its MVDS nodes, so ` +
          "give the id of the peer that writes it (its messages are ACKed to that peer)",
      );
    }
    if (!(await this.mvds.repo.peer(node, peer))) {
      throw new InvalidInputError(
        "peer",
        `${toHex0x(peer)} is not a peer of node ${toHex0x(node)}; add it with ` +
          "POST /mvds/nodes/{node}/peers first",
      );
    }
    const members = await this.mvds.repo.groupPeers(node, group, MVDS_LIMITS.peersPerGroup);
    if (!members.some((m) => equalBytes(m, peer))) {
      throw new InvalidInputError(
        "peer",
        `${toHex0x(peer)} does not share group ${toHex0x(group)} with node ${toHex0x(node)}; ` +
          "share it with POST /mvds/nodes/{node}/groups/{group}/peers first",
      );
    }
    return peer;
  }

  /**
   * Mirrors the log from `from`, which must be the gateway of one of the
   * node's peers. Returns the sync's error when a copy mirrored before can
   * be read instead; UnavailableError when there is none.
   */
  async #mirror(node: Uint8Array, name: string, from: string): Promise<string | undefined> {
    let base: string;
    try {
      base = peerBase(from);
    } catch (e) {
      throw new InvalidInputError("from", (e as Error).message, { cause: e });
    }
    const peers = await this.mvds.repo.peers(node, MVDS_LIMITS.peersPerNode);
    if (!peers.some((p) => p.info.url && gatewayBase(p.info.url) === base)) {
      throw new ForbiddenError(
        `${base} is not the gateway of any peer of node ${toHex0x(node)}: the gateway connects ` +
          "only to peers you configured (a peer's url <base>/mvds/nodes/<id>/payloads names " +
          "<base>); add the peer with its url first, or catch up from a log on this gateway",
      );
    }
    const followed = await this.opts.mirror([base]).follow(name, base);
    if (followed.synced) return undefined;
    const error = followed.state.error ?? "the sync failed";
    const before = await this.logs.info(name).catch(() => undefined);
    if (!before?.head) {
      throw new UnavailableError(`Could not mirror ${name} from ${base}: ${error}`);
    }
    this.opts.log.warn("Remote log mirror failed; catching up from the copy mirrored before", {
      name,
      from: base,
      error,
    });
    return error;
  }

  /** The entry's Message, if it is one of `group` whose id is `localHash`; else undefined. */
  #verify(data: Uint8Array, localHash: Uint8Array, group: Uint8Array): Message | undefined {
    let message: Message;
    try {
      message = decodeMessage(data, { maxGroupIdBytes: MVDS_LIMITS.groupIdBytes });
    } catch {
      return undefined;
    }
    if (!equalBytes(messageId(message), localHash) || !equalBytes(message.groupId, group)) {
      return undefined;
    }
    return message;
  }
}

/** The gateway base of an MVDS peer url `<base>/mvds/nodes/<id>/payloads`, else undefined. */
function gatewayBase(url: string): string | undefined {
  try {
    const u = new URL(url);
    const m = /^(.*)\/mvds\/nodes\/[^/]+\/payloads\/?$/.exec(u.pathname);
    return m ? peerBase(`${u.origin}${m[1]}`) : undefined;
  } catch {
    return undefined;
  }
}
