/**
 * Signing IPNS records with a key the gateway holds (a remote log's), by
 * the `ipns` package: V1+V2 by default, as kubo and Helia publish, so that
 * old resolvers read them too.
 *
 * @example
 * ```ts
 * const key = await generateKeyPair("Ed25519");
 * const bytes = await createSignedRecord(key, `/ipfs/${cid}`, 1n, 24 * 3600_000, 300_000);
 * await ns.put(ipnsNameOf(key.publicKey).text, bytes);
 * ```
 */
import { createIPNSRecordWithExpiration, marshalIPNSRecord } from "ipns";

/** A libp2p private key (from @libp2p/crypto's generateKeyPair or privateKeyFromProtobuf). */
export type PrivateKey = Parameters<typeof createIPNSRecordWithExpiration>[0];

/** Options of createSignedRecord. */
export interface SignOptions {
  /** The clock validity counts from, in ms since the Unix epoch; default now. */
  now?: number;
  /** Also write the legacy V1 fields and signature; default true. */
  v1Compatible?: boolean;
}

/**
 * A marshalled IPNS record pointing at `value` (a path such as
 * `/ipfs/<cid>`), valid for `lifetimeMs` from now, cached for `ttlMs`.
 */
export async function createSignedRecord(
  privateKey: PrivateKey,
  value: string,
  sequence: bigint | number,
  lifetimeMs: number,
  ttlMs: number,
  options: SignOptions = {},
): Promise<Uint8Array> {
  const expiration = new Date((options.now ?? Date.now()) + lifetimeMs).toISOString();
  const record = await createIPNSRecordWithExpiration(privateKey, value, sequence, expiration, {
    v1Compatible: options.v1Compatible ?? true,
    ttlNs: BigInt(Math.round(ttlMs)) * 1_000_000n,
  });
  return marshalIPNSRecord(record);
}
