/**
 * The content-addressed store of the remote log spec, addressed as IPFS
 * addresses raw blocks (CIDv1, raw, sha2-256): add a stream, stat and read
 * by CID, whole or by byte range. It keeps nothing in memory: every
 * instance over the same store (the CAS bridge's, and those the NS and
 * remote-log services build) sees the same content, in any process.
 *
 * @example
 * ```ts
 * const cas = new CasService(ctx.store, ctx.blobs);
 * const { cid, size } = await cas.add(request.body!, { maxBytes: 64 << 20 });
 * const got = await cas.get(cid.text); // null when absent
 * if (got) return new Response(got.stream, { headers: { "content-length": String(got.size) } });
 * ```
 */
import type { CID } from "multiformats/cid";
import { InvalidInputError, NotFoundError } from "../lib/errors.ts";
import {
  type CasCid,
  casCidOf,
  checkCid,
  decodeCasCid,
  parseCasCid,
} from "../protocols/cas/cid.ts";
import {
  type BlobStore,
  type ByteRange,
  type PutOptions,
  resolveRange,
} from "../storage/blob_store.ts";
import { type CasRecord, CasRepo } from "../storage/cas_repo.ts";
import { GroupCommitter } from "./group_commit.ts";
import type { Store } from "../storage/kv.ts";

/**
 * A CAS address as callers hold one: a CID's text in any multibase, a
 * binary CID, or a CID object.
 */
export type CasAddress = string | Uint8Array | CID;

/** What an add stored. */
export interface CasAdded {
  cid: CasCid;
  size: number;
  /** False when the content was in the CAS already. */
  created: boolean;
}

/** Content in the CAS. */
export interface CasStat extends CasRecord {
  cid: CasCid;
}

/** Content being read: its stat, the inclusive byte range read, and the bytes. */
export interface CasRead extends CasStat {
  start: number;
  end: number;
  stream: ReadableStream<Uint8Array>;
}

/** The CAS; see the module comment. */
export class CasService {
  readonly #repo: CasRepo;

  /** Small adds that arrive together share a commit (as Waku's single publishes do). */
  readonly #inline: GroupCommitter<Uint8Array, { record: CasRecord; created: boolean }>;

  constructor(store: Store, blobs: BlobStore) {
    this.#repo = new CasRepo(store, blobs);
    this.#inline = new GroupCommitter((contents) => this.#repo.addInlineMany(contents), {
      maxBatch: 100,
      maxQueue: 10_000,
    });
  }

  /**
   * Adds the stream's bytes and returns their address. Idempotent. Throws
   * TooLargeError as soon as more than `maxBytes` arrive (nothing is
   * stored), and the signal's reason on abort.
   */
  async add(body: ReadableStream<Uint8Array>, options: PutOptions): Promise<CasAdded> {
    const read = await this.#repo.readBody(body, options);
    const { record, created } = read.inline
      ? await this.#inline.submit(read.inline)
      : await this.#repo.addStream(read.stream, options);
    return { cid: casCidOf(record.digest), size: record.size, created };
  }

  /**
   * Reads an address; InvalidInputError naming `field` when it is no CID or
   * not a raw sha2-256 one. With `bareDigest`, 32 bytes are a sha256.
   */
  address(input: CasAddress, field = "cid", options: { bareDigest?: boolean } = {}): CasCid {
    try {
      if (typeof input === "string") return parseCasCid(input);
      if (input instanceof Uint8Array) return decodeCasCid(input, options);
      return checkCid(input);
    } catch (e) {
      if (e instanceof SyntaxError || e instanceof TypeError) {
        throw new InvalidInputError(field, `is not a CAS address: ${e.message}`, {
          cause: e,
          code: e instanceof TypeError ? "unsupported-cid" : "invalid-cid",
          title: e instanceof TypeError ? "Unsupported CID" : "Invalid CID",
        });
      }
      throw e;
    }
  }

  /** The content at an address, or null when the CAS does not have it. */
  async stat(address: CasAddress | CasCid): Promise<CasStat | null> {
    const cid = isCasCid(address) ? address : this.address(address);
    const record = await this.#repo.find(cid.digest);
    return record && { ...record, cid };
  }

  /** The content at an address; NotFoundError when the CAS does not have it. */
  async require(address: CasAddress | CasCid): Promise<CasStat> {
    const stat = await this.stat(address);
    if (stat) return stat;
    const cid = isCasCid(address) ? address : this.address(address);
    throw new NotFoundError(`No content with CID ${cid.text} is in this CAS`);
  }

  /**
   * The bytes of content that stat() found, or a range of them (both ends
   * inclusive; RangeError for a range that selects nothing), read as the
   * stream is pulled.
   */
  read(stat: CasStat, range?: ByteRange): ReadableStream<Uint8Array> {
    return this.#repo.read(stat, range);
  }

  /**
   * The content at an address as a stream with its size (and the range
   * read), or null when the CAS does not have it. What the NS serves at
   * `/ipns/{name}` and Twirp's Get answers.
   */
  async get(address: CasAddress | CasCid, range?: ByteRange): Promise<CasRead | null> {
    const stat = await this.stat(address);
    if (!stat) return null;
    return { ...stat, ...resolveRange(stat.size, range), stream: this.read(stat, range) };
  }
}

function isCasCid(x: unknown): x is CasCid {
  return typeof x === "object" && x !== null && "digest" in x && "text" in x && "cid" in x;
}
