/**
 * The live events of RemoteFile connections, on one hub channel with the
 * connection's id as attribute, as the JSON frames WebSocket (and SSE)
 * subscribers get:
 *
 * - `{type:"state", id, state, reason?}`
 * - `{type:"fileInfo", id, side, file:{name,address,size,fileType,digestType,open}}`
 * - `{type:"open"|"close"|"revoke", id, side, name, address}`
 * - `{type:"write", id, side, name, offset, size, data?}`: data (base64) up to
 *   MAX_EVENT_DATA_BYTES; a larger write (a whole file) comes without, read
 *   it with `GET …/remote-files/{name}`
 * - `{type:"port", id, node, name, direction, value}`: an APX port changed
 */
import { toBase64, toHex0x } from "../lib/bytes.ts";
import type { LiveEvent, LiveHub } from "./live_hub.ts";
import type { PortValue } from "./remotefile_apx.ts";
import type { FileSide, StoredFile } from "./remotefile_files.ts";

/** The hub channel of every RemoteFile event. */
export const REMOTEFILE_CHANNEL = "remotefile";

/** Largest write whose bytes an event carries. */
export const MAX_EVENT_DATA_BYTES = 64 * 1024;

/** A file as the API shows it (the digest as 0x-hex when there is one). */
export function fileJson(f: StoredFile) {
  return {
    name: f.name,
    address: f.address,
    size: f.size,
    fileType: f.fileType,
    digestType: f.digestType,
    ...(f.digestType !== 0 ? { digest: toHex0x(f.digest) } : {}),
    open: f.open,
  };
}

/**
 * Publishes one connection's events. Events made in one turn of the event
 * loop (everything one received message caused) go to the hub together.
 */
export class LinkEvents {
  #batch: LiveEvent[] = [];

  constructor(private readonly hub: LiveHub, private readonly id: string) {}

  #send(frame: Record<string, unknown>): void {
    if (this.#batch.length === 0) queueMicrotask(() => this.#flush());
    this.#batch.push({
      channel: REMOTEFILE_CHANNEL,
      attrs: { id: this.id },
      json: JSON.stringify({ ...frame, id: this.id }),
    });
  }

  #flush(): void {
    const batch = this.#batch;
    this.#batch = [];
    this.hub.publish(batch);
  }

  state(state: string, reason?: string): void {
    this.#send({ type: "state", state, ...(reason ? { reason } : {}) });
  }

  fileInfo(side: FileSide, file: StoredFile): void {
    this.#send({ type: "fileInfo", side, file: fileJson(file) });
  }

  file(type: "open" | "close" | "revoke", side: FileSide, name: string, address: number): void {
    this.#send({ type, side, name, address });
  }

  write(side: FileSide, name: string, offset: number, data: Uint8Array): void {
    this.#send({
      type: "write",
      side,
      name,
      offset,
      size: data.length,
      ...(data.length <= MAX_EVENT_DATA_BYTES ? { data: toBase64(data) } : {}),
    });
  }

  ports(ports: readonly PortValue[]): void {
    for (const p of ports) {
      this.#send({
        type: "port",
        node: p.node,
        name: p.name,
        direction: p.direction,
        value: p.value,
      });
    }
  }
}
