/**
 * The name system of the remote log spec, as IPNS: a name is a key, its
 * value a record the key signed, and the highest sequence wins. Every
 * record is verified before it is stored (protocols/ns/record.ts); a lower
 * sequence, a forged signature, an expired record or one for another key
 * is refused and the current record stays. Stateless over KV: instances in
 * any process over the same store agree (the NS bridge's, the remote
 * log's).
 *
 * Names are read in any form IPNS tools write and answered in one, the
 * base36 CIDv1 (`k51…`).
 *
 * @example
 * ```ts
 * const ns = new NsService(ctx.store, ctx.blobs);
 * await ns.put("k51qzi5uqu5d…", recordBytes); // { sequence: 6n, changed: true, … }
 * await ns.resolve("k51qzi5uqu5d…"); // { value: "/ipfs/bafkrei…", ttlSeconds: 300, … }
 * ```
 */
import { equalBytes } from "../lib/bytes.ts";
import { ConflictError, InvalidInputError, NotFoundError } from "../lib/errors.ts";
import { type IpnsName, parseIpnsName } from "../protocols/ns/name.ts";
import {
  type IpnsRecordInfo,
  MAX_RECORD_BYTES,
  readRecord,
  verifyRecord,
} from "../protocols/ns/record.ts";
import { select } from "../protocols/ns/select.ts";
import { cacheWindow } from "../protocols/ns/ttl.ts";
import { parseValue } from "../protocols/ns/value.ts";
import type { BlobStore } from "../storage/blob_store.ts";
import type { Store } from "../storage/kv.ts";
import { NsRepo, SKIP } from "../storage/ns_repo.ts";
import { CasService, type CasStat } from "./cas_service.ts";

/** Options of the NS. */
export interface NsServiceOptions {
  /** Largest record taken (bytes); default and at most what IPNS allows, 10 KiB. */
  maxRecordBytes?: number;
  /** The clock (ms since the Unix epoch) validity is checked against. */
  now?: () => number;
}

/** A name's current record: its bytes as published and its signed fields. */
export interface NsRecord extends IpnsRecordInfo {
  /** The name, canonical (base36 CIDv1). */
  name: string;
  bytes: Uint8Array;
}

/** What a put left. */
export interface NsPut extends IpnsRecordInfo {
  name: string;
  /** False when the record was the current one already. */
  changed: boolean;
}

/** What a name resolves to now. */
export interface NsResolved {
  name: string;
  /** The record's value: a path such as `/ipfs/<cid>`. */
  value: string;
  /** How long a resolver may cache this answer: the TTL, never past validity. */
  ttlSeconds: number;
  sequence: bigint;
  /** The record's EOL (RFC 3339). */
  validity: string;
}

/** The CAS content a name resolves to. */
export interface NsContent {
  resolved: NsResolved;
  stat: CasStat;
}

/** The NS; see the module comment. */
export class NsService {
  /** The CAS the names' `/ipfs/` values are read from. */
  readonly cas: CasService;
  readonly #repo: NsRepo;
  readonly #maxRecordBytes: number;
  readonly #now: () => number;

  constructor(store: Store, blobs: BlobStore, options: NsServiceOptions = {}) {
    this.cas = new CasService(store, blobs);
    this.#repo = new NsRepo(store);
    this.#maxRecordBytes = options.maxRecordBytes ?? MAX_RECORD_BYTES;
    this.#now = options.now ?? Date.now;
  }

  /** Reads a name in any IPNS form; InvalidInputError naming `field` when it is none. */
  name(text: string, field = "name"): IpnsName {
    return parseIpnsName(text, field);
  }

  /**
   * Publishes a marshalled record for a name, once verified: stored when it
   * wins over the current one (see protocols/ns/select.ts). Throws
   * TooLargeError over the size limit (before parsing), InvalidInputError
   * for a record that fails verification (its code says which check), and
   * ConflictError when the current record stays.
   */
  async put(name: string | IpnsName, record: Uint8Array): Promise<NsPut> {
    const n = typeof name === "string" ? this.name(name) : name;
    const info = await verifyRecord(n, record, {
      maxBytes: this.#maxRecordBytes,
      now: this.#now(),
    });
    const changed = await this.#repo.put(n.multihash, (current) => {
      if (!current) return record;
      const choice = select(readRecord(current), info, equalBytes(current, record));
      if (choice === "replace") return record;
      if (choice === "same") return SKIP;
      throw new ConflictError(`The IPNS record of ${n.text} was not replaced: ${choice.refused}`);
    });
    return { name: n.text, ...info, changed };
  }

  /** A name's current record (expired or not); NotFoundError when it has none. */
  async get(name: string | IpnsName): Promise<NsRecord> {
    const n = typeof name === "string" ? this.name(name) : name;
    const bytes = await this.#repo.get(n.multihash);
    if (!bytes) throw new NotFoundError(`No IPNS record is published for ${n.text}`);
    return { name: n.text, bytes, ...readRecord(bytes) };
  }

  /** What a name resolves to; NotFoundError when it has no record, or only an expired one. */
  async resolve(name: string | IpnsName): Promise<NsResolved> {
    const record = await this.get(name);
    const now = this.#now();
    if (record.validUntilNs <= BigInt(now) * 1_000_000n) {
      throw new NotFoundError(
        `The IPNS record of ${record.name} expired at ${record.validity}; its key's owner ` +
          "must publish a new one",
      );
    }
    return {
      name: record.name,
      value: record.value,
      ttlSeconds: cacheWindow(record, now).maxAge,
      sequence: record.sequence,
      validity: record.validity,
    };
  }

  /**
   * The content a name resolves to: its value must be `/ipfs/<cid>` of
   * content in the CAS (other values, and content elsewhere, are
   * NotFoundError saying so).
   */
  async content(name: string | IpnsName): Promise<NsContent> {
    const resolved = await this.resolve(name);
    const target = parseValue(resolved.value);
    const missing = (why: string, cause?: unknown) =>
      new NotFoundError(`${resolved.name} resolves to ${resolved.value}, ${why}`, { cause });
    if (target.kind !== "ipfs" || target.rest) {
      throw missing("which is not content this gateway serves (it serves /ipfs/<cid> alone)");
    }
    let stat: CasStat | null;
    try {
      stat = await this.cas.stat(target.root);
    } catch (e) {
      if (!(e instanceof InvalidInputError)) throw e;
      throw missing(`and ${e.problem}`, e);
    }
    if (!stat) throw missing("which is not in this gateway's CAS");
    return { resolved, stat };
  }
}
