/**
 * Mirroring: this gateway follows a log hosted by another gateway, so Bob
 * can read it here while the writer (or its gateway) is offline.
 *
 * A sync fetches the other gateway's IPNS record for the name
 * (`/routing/v1/ipns/{name}`) and verifies it (signature by the name's key,
 * validity); if its sequence is newer than what was mirrored, it walks the
 * pages from the head (`/ipfs/{cid}?format=raw`) until it meets one it has
 * (each page hashed against its CID) down to what the record published
 * here already covers, fetches every entry the CAS lacks (hashed against
 * its CID as it streams in; a mismatch stores nothing), and only then
 * publishes the record here. So what Bob resolves here is always whole,
 * and an interrupted sync resumes by fetching only what is still missing
 * (pages and entries it fetched are in the CAS already). Outbound requests go only to gateways listed in the
 * bridge's settings.
 */
import { createHash } from "node:crypto";
import { CID } from "multiformats/cid";
import { concat, equalBytes, toHex0x } from "../lib/bytes.ts";
import {
  ConflictError,
  InvalidInputError,
  NotFoundError,
  UnavailableError,
} from "../lib/errors.ts";
import { type Logger } from "../lib/log.ts";
import { parseIpnsName } from "../protocols/ns/name.ts";
import { MAX_RECORD_BYTES, verifyRecord } from "../protocols/ns/record.ts";
import { parseValue } from "../protocols/ns/value.ts";
import { pairsAfter } from "../protocols/remotelog/pages.ts";
import {
  decodeRemoteLog,
  MAX_PAGE_BYTES,
  type RemoteLog,
} from "../protocols/remotelog/remote_log.ts";
import type { MirrorState, RemoteLogRepo } from "../storage/remote_log_repo.ts";
import type { LiveHub } from "./live_hub.ts";
import type { RemoteLogService } from "./remote_log_service.ts";
import { REMOTE_LOG_CHANNEL } from "./remote_log_service.ts";

export interface MirrorOptions {
  /** Base URLs of the gateways this one may follow (its outbound allowlist). */
  peers: readonly string[];
  /** Per request. */
  timeoutMs: number;
  /** Largest entry fetched. */
  maxEntryBytes: number;
  /** Most pages one sync walks. */
  maxPages: number;
  now?: () => number;
  log: Logger;
}

/** What one sync did. */
export interface SyncResult {
  sequence: bigint;
  pages: number;
  entries: number;
}

const IPNS_RECORD = "application/vnd.ipfs.ipns-record";
const RAW = "application/vnd.ipld.raw";

/** A URL's origin and path without a trailing slash: how peers are compared. */
export function peerBase(url: string): string {
  const u = new URL(url);
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new TypeError(`${url} is not an http(s) URL`);
  }
  return `${u.origin}${u.pathname.replace(/\/+$/, "")}`;
}

export class RemoteLogMirror {
  readonly #now: () => number;
  readonly #peers: Set<string>;

  constructor(
    private readonly logs: RemoteLogService,
    private readonly repo: RemoteLogRepo,
    private readonly hub: LiveHub,
    private readonly opts: MirrorOptions,
  ) {
    this.#now = opts.now ?? Date.now;
    this.#peers = new Set(opts.peers.map(peerBase));
  }

  /** Starts following `name` at `from` (a listed peer); syncs once and says how that went. */
  async follow(name: string, from: string): Promise<{ state: MirrorState; synced?: SyncResult }> {
    const n = this.logs.ns.name(name).text;
    let base: string;
    try {
      base = peerBase(from);
    } catch (e) {
      throw new InvalidInputError("from", (e as Error).message, { cause: e });
    }
    if (!this.#peers.has(base)) {
      throw new InvalidInputError(
        "from",
        `is ${base}, which is not one of the gateways this one may follow ` +
          "(SYNCGATE_REMOTELOG_PEERS)",
        { code: "peer-not-allowed", title: "Peer not allowed" },
      );
    }
    const current = await this.repo.mirror(n);
    const state: MirrorState = current?.value.from === base
      ? current.value
      : { from: base, sequence: 0n, since: this.#now() };
    await this.repo.setMirror(n, state);
    const synced = await this.sync(n).catch((e) => {
      if (e instanceof UnavailableError || e instanceof InvalidInputError) return undefined;
      throw e;
    });
    return { state: (await this.repo.mirror(n))!.value, synced };
  }

  /** A followed log's mirror state; NotFoundError when it is not followed. */
  async state(name: string): Promise<MirrorState> {
    const read = await this.repo.mirror(name);
    if (!read) throw new NotFoundError(`${name} is not followed by this gateway`);
    return read.value;
  }

  /** Syncs every followed log once (the background job); failures are kept in each state. */
  async syncAll(signal?: AbortSignal): Promise<number> {
    let n = 0;
    for (const { name } of await this.repo.mirrors()) {
      if (signal?.aborted) break;
      try {
        await this.sync(name);
        n++;
      } catch (e) {
        this.opts.log.warn("Remote log mirror sync failed", { name, error: (e as Error).message });
      }
    }
    return n;
  }

  /** One sync of a followed log; see the module comment. */
  async sync(name: string): Promise<SyncResult> {
    const read = await this.repo.mirror(name);
    if (!read) throw new InvalidInputError("name", `${name} is not followed by this gateway`);
    const state = read.value;
    // Two syncs of one log can overlap (a follow request beside the job): the state written
    // keeps the highest sequence either reached.
    const settle = (sequence: bigint, error?: string) =>
      this.repo.updateMirror(name, (now = state) => ({
        ...now,
        sequence: now.sequence > sequence ? now.sequence : sequence,
        error,
      }));
    try {
      const result = await this.#sync(name, state);
      await settle(result.sequence);
      return result;
    } catch (e) {
      await settle(state.sequence, (e as Error).message);
      throw e;
    }
  }

  async #sync(name: string, state: MirrorState): Promise<SyncResult> {
    const ipnsName = parseIpnsName(name);
    const bytes = await this.#get(
      state.from,
      `/routing/v1/ipns/${name}`,
      IPNS_RECORD,
      MAX_RECORD_BYTES,
    );
    const info = await verifyRecord(ipnsName, bytes, { now: this.#now() });
    if (info.sequence <= state.sequence) return { sequence: state.sequence, pages: 0, entries: 0 };
    const target = parseValue(info.value);
    if (target.kind !== "ipfs" || target.rest) {
      throw new InvalidInputError("record", `points at ${info.value}, which is no remote log page`);
    }
    const head = this.logs.cas.address(target.root, "record.value");
    // What the record published here points at is whole, with every page older than it; the
    // walk stops there (or at its tail: a paged log's next head replaces a head that was not
    // full, over the same tail).
    const before = await this.logs.info(name).catch(() => undefined);
    const stops = new Set<string>();
    if (before?.head) {
      // A head put here by someone else and not in the CAS stops nothing: the walk goes on.
      const old = await this.logs.page(before.head.cid.bytes).catch(() => undefined);
      if (old) {
        stops.add(before.head.text);
        if (old.tail.length) stops.add(this.logs.cas.address(old.tail).text);
      }
    }
    let pages = 0, entries = 0;
    for (let cid: CID | undefined = head.cid; cid && !stops.has(cid.toString());) {
      // A page fetched by an interrupted sync is read here, not fetched again (nor counted).
      let page: RemoteLog;
      if (await this.logs.cas.stat(cid)) {
        page = await this.logs.page(cid.bytes);
      } else {
        if (pages >= this.opts.maxPages) {
          throw new InvalidInputError("log", `has more than ${this.opts.maxPages} pages to mirror`);
        }
        const pageBytes = await this.#fetchVerified(state.from, cid, MAX_PAGE_BYTES);
        page = fromPeer(() => decodeRemoteLog(pageBytes), state.from, cid);
        await this.logs.cas.add(new Blob([pageBytes as Uint8Array<ArrayBuffer>]).stream(), {
          maxBytes: MAX_PAGE_BYTES,
        });
        pages++;
      }
      for (const p of page.pairs) {
        const entry = fromPeer(() => this.logs.cas.address(p.remoteHash), state.from, cid);
        if (await this.logs.cas.stat(entry)) continue;
        await this.#addVerified(state.from, entry.cid);
        entries++;
      }
      const tail = page.tail;
      cid = tail.length ? fromPeer(() => CID.decode(tail), state.from, cid) : undefined;
    }
    try {
      await this.logs.ns.put(ipnsName, bytes);
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e; // a newer record got here first
    }
    await this.#announce(name, before?.head?.cid.bytes, head.cid.bytes);
    return { sequence: info.sequence, pages, entries };
  }

  /** Sends the entries new since `oldHead` to live subscribers, oldest first. */
  async #announce(name: string, oldHead: Uint8Array | undefined, newHead: Uint8Array) {
    let after: Uint8Array | undefined;
    if (oldHead) {
      after = (await this.logs.page(oldHead).catch(() => undefined))?.pairs[0]?.localHash;
    }
    const walked = await pairsAfter(this.logs.walk(newHead), after, 10_000);
    this.hub.publish(walked.pairs.map((p) => ({
      channel: REMOTE_LOG_CHANNEL,
      attrs: { name },
      json: JSON.stringify({
        name,
        localHash: toHex0x(p.localHash),
        remoteHash: this.logs.cas.address(p.remoteHash).text,
        mirrored: true,
      }),
    })));
  }

  /** A GET from a peer: the whole body, at most `maxBytes`; UnavailableError when it fails. */
  async #get(base: string, path: string, accept: string, maxBytes: number): Promise<Uint8Array> {
    const res = await this.#fetch(base, path, accept);
    const out: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of res.body!) {
      size += chunk.length;
      if (size > maxBytes) {
        throw new InvalidInputError("peer", `${base}${path} answered more than ${maxBytes} bytes`);
      }
      out.push(chunk);
    }
    return concat(out);
  }

  async #fetch(base: string, path: string, accept: string): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        headers: { accept },
        signal: AbortSignal.timeout(this.opts.timeoutMs),
        redirect: "error",
      });
    } catch (e) {
      throw new UnavailableError(`${base} did not answer: ${(e as Error).message}`, { cause: e });
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw new UnavailableError(`${base}${path} answered ${res.status}`);
    }
    return res;
  }

  /** A page's bytes from a peer, checked against its CID. */
  async #fetchVerified(base: string, cid: CID, maxBytes: number): Promise<Uint8Array> {
    const bytes = await this.#get(base, `/ipfs/${cid}?format=raw`, RAW, maxBytes);
    const expected = this.logs.cas.address(cid).digest;
    if (!equalBytes(createHash("sha256").update(bytes).digest(), expected)) {
      throw new InvalidInputError("peer", `${base} sent bytes that do not match ${cid}`);
    }
    return bytes;
  }

  /** An entry streamed from a peer into the CAS, hashed as it comes; a mismatch stores nothing. */
  async #addVerified(base: string, cid: CID): Promise<void> {
    const res = await this.#fetch(base, `/ipfs/${cid}?format=raw`, RAW);
    const expected = this.logs.cas.address(cid).digest;
    // node:crypto hashes natively (storage/blob_put.ts measured it 10× @noble's speed).
    const hash = createHash("sha256");
    const checked = res.body!.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, c) {
          hash.update(chunk);
          c.enqueue(chunk);
        },
        flush(c) {
          if (!equalBytes(hash.digest(), expected)) {
            c.error(new InvalidInputError("peer", `${base} sent bytes that do not match ${cid}`));
          }
        },
      }),
    );
    await this.logs.cas.add(checked, { maxBytes: this.opts.maxEntryBytes });
  }
}

/** What a peer sent, read by `read`; what does not read is the peer's fault (a 4xx, not a 500). */
function fromPeer<T>(read: () => T, base: string, cid: CID): T {
  try {
    return read();
  } catch (e) {
    throw new InvalidInputError(
      "peer",
      `${base} sent ${cid}, which does not read: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
}
