/**
 * Remote logs (remote-log spec 0.0.6) on this gateway's CAS and NS: Alice's
 * side for clients that do not sign (the gateway holds the log's key and
 * signs a new IPNS record on every append), and Bob's side for any log a
 * name resolves to, written here, by a client with its own key, or
 * mirrored from another gateway.
 *
 * An append: the content goes to CAS (its CID is the pair's remoteHash);
 * the pairs of the appends waiting for a log are added together (a group
 * commit): new pages to CAS, then the log's state (head, sequence, count)
 * replaced with a commit checked on the state read, so appends take turns
 * across processes and none is lost; a conflict starts the batch again
 * from the new state (CAS adds are idempotent). Last, the record for the
 * new head is signed and published. A crash between the commit and the publish leaves
 * the name one record behind; the next append, or a read of the log,
 * publishes it again from the state.
 */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import { sha256 } from "@noble/hashes/sha2.js";
import { equalSecret, toHex0x } from "../lib/bytes.ts";
import { BusyError, ConflictError, NotFoundError, UnauthorizedError } from "../lib/errors.ts";
import type { CasCid } from "../protocols/cas/cid.ts";
import { ipnsNameOf } from "../protocols/ns/name.ts";
import { createSignedRecord } from "../protocols/ns/sign.ts";
import {
  appendPair,
  type LogMode,
  pageCapacity,
  pairsAfter,
} from "../protocols/remotelog/pages.ts";
import {
  decodeRemoteLog,
  encodeRemoteLog,
  MAX_PAGE_BYTES,
  type Pair,
  type RemoteLog,
} from "../protocols/remotelog/remote_log.ts";
import type { Logger } from "../lib/log.ts";
import type { BlobStore } from "../storage/blob_store.ts";
import type { Store } from "../storage/kv.ts";
import { type LogState, RemoteLogRepo, type Versioned } from "../storage/remote_log_repo.ts";
import type { CasService } from "./cas_service.ts";
import { GroupCommitter } from "./group_commit.ts";
import type { LiveHub } from "./live_hub.ts";
import { NsService } from "./ns_service.ts";

/** The live channel new entries go out on (attrs: name). */
export const REMOTE_LOG_CHANNEL = "remotelog";

export interface RemoteLogOptions {
  /** Largest entry appended through the gateway. */
  maxEntryBytes: number;
  /** How long each record the gateway signs is valid. */
  recordLifetimeMs: number;
  /** The TTL resolvers may cache a record for. */
  recordTtlMs: number;
  /** The clock (ms since the epoch). */
  now?: () => number;
  /** Where a record that failed to publish is reported. */
  log?: Logger;
}

/** What creating a log gives its creator: the name to share, and the token that writes. */
export interface CreatedLog {
  name: string;
  writeToken: string;
}

/** What an append stored. */
export interface Appended {
  localHash: Uint8Array;
  remoteHash: CasCid;
  sequence: bigint;
}

/** A log as Bob sees it. */
export interface LogInfo {
  name: string;
  /** "unknown" for a log this gateway does not write (its pages do not say). */
  mode: LogMode | "unknown";
  head: CasCid | null;
  sequence: bigint;
  /** Entries, when this gateway writes the log. */
  count?: number;
}

/** An entry as Bob reads it. */
export interface LogEntry {
  localHash: Uint8Array;
  remoteHash: CasCid;
  data: Uint8Array;
}

/** Commits of a batch retried against other processes' appends before giving up. */
const MAX_APPEND_ATTEMPTS = 50;
/** Most bytes of content one entries read answers (unless its first entry alone is larger). */
const ENTRIES_BYTES = 16 * 1024 * 1024;
/** Appends waiting for one log's commit; past it an append is refused as busy. */
const MAX_WAITING_APPENDS = 10_000;

export class RemoteLogService {
  readonly cas: CasService;
  readonly ns: NsService;
  readonly #repo: RemoteLogRepo;
  readonly #now: () => number;
  readonly #maxBatch: number;
  readonly #committers = new Map<string, GroupCommitter<Pair, bigint>>();

  constructor(
    store: Store,
    blobs: BlobStore,
    private readonly hub: LiveHub,
    private readonly opts: RemoteLogOptions,
  ) {
    this.ns = new NsService(store, blobs, { now: opts.now });
    // One CAS, so page and entry adds share its group commits.
    this.cas = this.ns.cas;
    // Each pair's localHash is a check, and the state one more: a remote KV allows 10.
    this.#maxBatch = store.limits.maxChecks - 1;
    this.#repo = new RemoteLogRepo(store);
    this.#now = opts.now ?? Date.now;
  }

  /** Creates a log with a fresh Ed25519 key held by this gateway. */
  async create(mode: LogMode, pageSize: number): Promise<CreatedLog> {
    const key = await generateKeyPair("Ed25519");
    const name = ipnsNameOf(key.publicKey).text;
    const token = crypto.getRandomValues(new Uint8Array(32));
    const created = await this.#repo.create(name, {
      mode,
      pageSize: mode === "linked" ? 1 : pageSize,
      privateKey: privateKeyToProtobuf(key),
      tokenHash: sha256(token),
      sequence: 0n,
      head: new Uint8Array(0),
      count: 0,
    });
    if (!created) throw new ConflictError(`A log named ${name} exists already`);
    return { name, writeToken: token.toBase64({ alphabet: "base64url", omitPadding: true }) };
  }

  /** A log written here; NotFoundError otherwise. */
  async #written(name: string): Promise<Versioned<LogState>> {
    const state = await this.#repo.get(this.ns.name(name).text);
    if (!state) throw new NotFoundError(`No log named ${name} is written by this gateway`);
    return state;
  }

  /** Checks a write token against the log's, in constant time. */
  #authorize(state: LogState, token: string | undefined): void {
    let given: Uint8Array;
    try {
      given = Uint8Array.fromBase64(token ?? "", { alphabet: "base64url" });
    } catch {
      given = new Uint8Array(0);
    }
    if (!token || !equalSecret(sha256(given), state.tokenHash)) {
      throw new UnauthorizedError("This log's write token is required (Authorization: Bearer …)");
    }
  }

  /**
   * Appends an entry: `body` to CAS (its CID is the remoteHash), then the
   * pair to the log, with the pairs of appends to the same log that arrive
   * meanwhile (one group commit: one state replace, one record). The
   * sequence returned is that of the first record that includes the entry.
   * `localHash` defaults to the content's SHA-256.
   */
  async append(
    name: string,
    token: string | undefined,
    body: ReadableStream<Uint8Array>,
    localHash?: Uint8Array,
  ): Promise<Appended> {
    const n = this.ns.name(name).text;
    this.#authorize((await this.#written(n)).value, token);
    const added = await this.cas.add(body, { maxBytes: this.opts.maxEntryBytes });
    const pair: Pair = {
      remoteHash: added.cid.cid.bytes,
      localHash: localHash ?? added.cid.digest,
    };
    let committer = this.#committers.get(n);
    if (!committer) {
      committer = new GroupCommitter((pairs) => this.#commitPairs(n, pairs), {
        maxBatch: this.#maxBatch,
        maxQueue: MAX_WAITING_APPENDS,
      });
      this.#committers.set(n, committer);
    }
    try {
      const sequence = await committer.submit(pair);
      return { localHash: pair.localHash, remoteHash: added.cid, sequence };
    } finally {
      // A log's committer lives while appends wait for it.
      if (committer.idle && this.#committers.get(n) === committer) this.#committers.delete(n);
    }
  }

  /**
   * Adds pairs to a log (oldest first) in one replace of its state, retried
   * from the new state when another append got there first; then publishes
   * the record and sends the entries live. Each pair's outcome is the new
   * sequence.
   */
  async #commitPairs(name: string, all: Pair[]): Promise<PromiseSettledResult<bigint>[]> {
    // A localHash names one entry: a repeat in the batch or of one in the log is refused.
    const out: PromiseSettledResult<bigint>[] = all.map(() => ({ status: "fulfilled", value: 0n }));
    const refuse = (i: number) =>
      out[i] = {
        status: "rejected",
        reason: new ConflictError(
          `The log has an entry with the localHash ${toHex0x(all[i].localHash)} already; ` +
            "give each entry its own (X-Local-Hash)",
        ),
      };
    const seen = new Set<string>();
    let live = all.map((p, i) => ({ p, i })).filter(({ p, i }) => {
      const id = p.localHash.toHex();
      if (seen.has(id)) return refuse(i), false;
      seen.add(id);
      return true;
    });
    for (let attempt = 0; live.length > 0; attempt++) {
      const pairs = live.map(({ p }) => p);
      const read = await this.#written(name);
      const state = read.value;
      let page = state.head.length ? await this.page(state.head) : undefined;
      let address = state.head.length ? state.head : undefined;
      for (const pair of pairs) {
        // A full head becomes the next page's tail: it must be in CAS first.
        if (page && !address && page.pairs.length >= pageCapacity(state.mode, state.pageSize)) {
          address = await this.#store(page);
        }
        page = appendPair(
          state.mode,
          state.pageSize,
          page && { page, address: address ?? new Uint8Array(0) },
          pair,
        );
        address = undefined;
      }
      const next: LogState = {
        ...state,
        head: await this.#store(page!),
        sequence: state.sequence + 1n,
        count: state.count + pairs.length,
      };
      const done = await this.#repo.replace(name, read, next, pairs.map((p) => p.localHash));
      if (done === "ok") {
        // The entries are stored: a record that fails to publish now is published again from
        // the state on the next append or read (#republishIfBehind), not answered as a failure.
        await this.#publish(name, next).catch((e) =>
          this.opts.log?.warn("Remote log record not published; it will be again", {
            name,
            error: (e as Error).message,
          })
        );
        this.hub.publish(pairs.map((p) => ({
          channel: REMOTE_LOG_CHANNEL,
          attrs: { name },
          json: JSON.stringify({
            name,
            localHash: toHex0x(p.localHash),
            remoteHash: this.cas.address(p.remoteHash).text,
            sequence: String(next.sequence),
          }),
        })));
        for (const { i } of live) out[i] = { status: "fulfilled", value: next.sequence };
        return out;
      }
      if (attempt >= MAX_APPEND_ATTEMPTS) {
        throw new BusyError(`Appends to ${name} kept colliding with other processes'; try again`);
      }
      if (done !== "moved") {
        const taken = new Set(done.taken.map((lh) => lh.toHex()));
        live = live.filter(({ p, i }) => !taken.has(p.localHash.toHex()) || (refuse(i), false));
      }
    }
    return out;
  }

  /** Puts a page in CAS; its binary CID. */
  async #store(page: RemoteLog): Promise<Uint8Array> {
    const bytes = encodeRemoteLog(page) as Uint8Array<ArrayBuffer>;
    if (bytes.length > MAX_PAGE_BYTES) {
      // Only a full-mode log (one page holding every pair) gets here: say so, not "413 Content".
      throw new ConflictError(
        `The log's page would be ${bytes.length} bytes, past the ${MAX_PAGE_BYTES} a page may ` +
          "have: a full-mode log is at its end; write to a paged log",
      );
    }
    const added = await this.cas.add(new Blob([bytes]).stream(), { maxBytes: MAX_PAGE_BYTES });
    return added.cid.cid.bytes;
  }

  /** Signs and publishes the record for a state's head (a newer one there already wins). */
  async #publish(name: string, state: LogState): Promise<void> {
    const key = privateKeyFromProtobuf(state.privateKey);
    const head = this.cas.address(state.head, "head");
    const record = await createSignedRecord(
      key,
      `/ipfs/${head.text}`,
      state.sequence,
      this.opts.recordLifetimeMs,
      this.opts.recordTtlMs,
      { now: this.#now() },
    );
    try {
      await this.ns.put(name, record);
    } catch (e) {
      // A later append published a higher sequence first: that record stands.
      if (!(e instanceof ConflictError)) throw e;
    }
  }

  /**
   * A page from CAS. NotFoundError when the CAS lacks it or it is no page
   * (a log a client wrote badly): the reader asked for nothing wrong.
   */
  async page(address: Uint8Array): Promise<RemoteLog> {
    const cid = this.#pageAddress(address);
    const got = await this.cas.get(cid);
    if (!got) throw new NotFoundError(`The page ${cid.text} is not in this CAS`);
    if (got.size > MAX_PAGE_BYTES) {
      throw new NotFoundError(
        `${cid.text} is ${got.size} bytes: no page (at most ${MAX_PAGE_BYTES})`,
      );
    }
    const bytes = new Uint8Array(await new Response(got.stream).arrayBuffer());
    try {
      return decodeRemoteLog(bytes);
    } catch (e) {
      throw new NotFoundError(`${cid.text} is no RemoteLog page: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  /** A page's address as a log names it (a head, a tail, a record's value). */
  #pageAddress(address: string | Uint8Array): CasCid {
    try {
      return this.cas.address(address, "page");
    } catch (e) {
      throw new NotFoundError(
        `The log names a page by ${
          typeof address === "string" ? address : toHex0x(address)
        }, which is no CAS address`,
        {
          cause: e,
        },
      );
    }
  }

  /** Where a log is: from its state when written here, else from the record its name resolves to. */
  async info(name: string): Promise<LogInfo> {
    const n = this.ns.name(name).text;
    const written = await this.#repo.get(n);
    if (written) {
      const s = written.value;
      await this.#republishIfBehind(n, s);
      return {
        name: n,
        mode: s.mode,
        head: s.head.length ? this.cas.address(s.head) : null,
        sequence: s.sequence,
        count: s.count,
      };
    }
    const resolved = await this.ns.resolve(n);
    const path = /^\/ipfs\/([^/]+)$/.exec(resolved.value);
    if (!path) {
      throw new NotFoundError(`${n} resolves to ${resolved.value}, which is no remote log page`);
    }
    return {
      name: n,
      mode: "unknown",
      head: this.#pageAddress(path[1]),
      sequence: resolved.sequence,
    };
  }

  /** Publishes the state's record again when a crash left the name behind it. */
  async #republishIfBehind(name: string, state: LogState): Promise<void> {
    if (state.sequence === 0n) return;
    const current = await this.ns.get(name).catch((e) => {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    });
    if (!current || current.sequence < state.sequence) await this.#publish(name, state);
  }

  /**
   * Entries after the one whose localHash is `after` (all when absent),
   * oldest first, at most `limit`, with their content; `next` is the
   * localHash to continue after when more follow.
   */
  async entries(
    name: string,
    after: Uint8Array | undefined,
    limit: number,
  ): Promise<{ entries: LogEntry[]; next?: Uint8Array }> {
    const info = await this.info(name);
    if (!info.head) return { entries: [] };
    const walked = await pairsAfter(this.walk(info.head.cid.bytes), after, limit);
    if (after && !walked.foundAfter) {
      throw new NotFoundError(`No entry of ${info.name} has the localHash ${toHex0x(after)}`);
    }
    // One answer carries at most ENTRIES_BYTES of content (and always one entry); `next` says
    // where the rest starts.
    const entries: LogEntry[] = [];
    let bytes = 0;
    for (const p of walked.pairs) {
      const remoteHash = this.#pageAddress(p.remoteHash);
      const got = await this.cas.get(remoteHash);
      if (!got) throw new NotFoundError(`The content ${remoteHash.text} is not in this CAS`);
      if (entries.length > 0 && bytes + got.size > ENTRIES_BYTES) break;
      bytes += got.size;
      entries.push({
        localHash: p.localHash,
        remoteHash,
        data: new Uint8Array(await new Response(got.stream).arrayBuffer()),
      });
    }
    const more = walked.more || entries.length < walked.pairs.length;
    const last = entries.at(-1);
    return { entries, next: more && last ? last.localHash : undefined };
  }

  /** The pages from `head` back to the first. */
  async *walk(head: Uint8Array): AsyncGenerator<RemoteLog> {
    for (let address = head; address.length;) {
      const page = await this.page(address);
      yield page;
      address = page.tail;
    }
  }
}
