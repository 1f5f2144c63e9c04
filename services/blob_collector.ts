/**
 * The shared blob store's garbage collection (BlobStore.collect): in one
 * process at a time, every minute, it deletes blobs nothing has referred to
 * for an hour and uploads that made no progress for as long. The hour is
 * what an owner has between putting a blob and committing its reference.
 */
import type { Logger } from "../lib/log.ts";
import type { BlobStore } from "../storage/blob_store.ts";
import type { Store } from "../storage/kv.ts";
import { type ExclusiveJob, runUnderLease } from "./exclusive_job.ts";

/** How long a blob may stay unreferenced, or an upload without progress. */
export const BLOB_GRACE_MS = 60 * 60 * 1000;
const INTERVAL_MS = 60 * 1000;

/** The service that collects the gateway's blobs. */
export function blobCollector(store: Store, blobs: BlobStore, log: Logger): ExclusiveJob {
  return runUnderLease(store, {
    name: "blob-collect",
    intervalMs: INTERVAL_MS,
    job: () => blobs.collect({ graceMs: BLOB_GRACE_MS }),
    log,
  });
}
