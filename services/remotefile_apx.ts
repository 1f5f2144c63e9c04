/**
 * APX signals on top of a connection's files: the node definitions found in
 * `Name.apx` files (either side), their ports decoded from the port data
 * files, which port a write changed, and where writing a port must go.
 *
 * Which side writes which file (APX model; c-apx 0.3 and py-apx, see
 * FIELD-NOTES.md "APX flow"): the side that publishes `Name.apx` is the
 * *node*. The node also publishes `Name.out`, the packed values of its
 * provide ports (P lines), and only it writes them. Its require ports (R
 * lines) are filled by the other side, the APX *server*, which offers
 * `Name.in` and writes into it what the node should read. So, for a node
 * name N:
 * - the peer published `N.apx` (a real node on our listener, or a node we
 *   connected to): its provide ports are in the peer's `N.out` (we mirror
 *   them, read-only); its require ports are in *our* `N.in`, which we
 *   publish (see `inFileFor`) and which a PUT writes.
 * - we published `N.apx` (the gateway as a node on an APX server): our
 *   provide ports are in our `N.out`, which a PUT writes; our require
 *   ports are in the server's `N.in`, which we mirror (read-only).
 * In short: a port is writable exactly when its data file is ours.
 *
 * Definitions are parsed when first needed after their file changed, and
 * kept while its bytes stay the same.
 */
import { ConflictError, InvalidInputError, NotFoundError } from "../lib/errors.ts";
import {
  type ApxDefinition,
  type ApxPort,
  type DefinitionLimits,
  parseDefinition,
  type PortDirection,
} from "../protocols/apx/definition.ts";
import {
  initialFileData,
  portsInRange,
  portsOf,
  readPort,
  writePort,
} from "../protocols/apx/port_data.ts";
import { type ApxValue, ValueRangeError, ValueTypeError } from "../protocols/apx/value_codec.ts";
import type { FileCopies, FileSide } from "./remotefile_files.ts";

/** A definition file and what it holds. */
export interface ApxNode {
  /** The `.apx` file's name. */
  file: string;
  /** Whose it is: `remote` = the peer is the node; `local` = we are. */
  side: FileSide;
  definition?: ApxDefinition;
  /** Why the definition cannot be read. */
  error?: string;
}

/** A port with its current value, as the API shows it. */
export interface PortValue {
  node: string;
  name: string;
  direction: PortDirection;
  /** The signature as written in the definition. */
  type: string;
  /** Decoded from the data file; null while that file has not arrived. */
  value: ApxValue | null;
  /** The file its data is in, and whose it is. */
  file: string;
  fileSide: FileSide;
  /** We write the file: a PUT may set this port. */
  writable: boolean;
}

/** Bytes to write into one of our files to set a port. */
export interface PortWrite {
  file: string;
  offset: number;
  data: Uint8Array;
}

const PORT_DATA_FILE = /\.(out|in)$/;
const other = (side: FileSide): FileSide => side === "local" ? "remote" : "local";

export class ApxView {
  readonly #cache = new Map<string, { version: number; node: ApxNode }>();

  constructor(private readonly files: FileCopies, private readonly limits: DefinitionLimits = {}) {}

  /** Every `.apx` file with bytes, parsed (or why not). */
  nodes(): ApxNode[] {
    const out: ApxNode[] = [];
    for (const side of ["remote", "local"] as const) {
      for (const f of this.files.list(side)) {
        if (!f.file.name.endsWith(".apx") || f.data === null) continue;
        out.push(this.#node(side, f.file.name, f.version, f.data));
      }
    }
    return out;
  }

  #node(side: FileSide, file: string, version: number, data: Uint8Array): ApxNode {
    const key = `${side}\0${file}`;
    const hit = this.#cache.get(key);
    if (hit && hit.version === version) return hit.node;
    let node: ApxNode;
    try {
      node = { file, side, definition: parseDefinition(data, this.limits) };
    } catch (e) {
      node = { file, side, error: (e as Error).message };
    }
    this.#cache.set(key, { version, node });
    return node;
  }

  /** Every port of every readable definition, with its value. */
  ports(): PortValue[] {
    const out: PortValue[] = [];
    for (const n of this.nodes()) {
      const def = n.definition;
      if (!def) continue;
      for (const p of [...def.providePorts, ...def.requirePorts]) out.push(this.#value(n, def, p));
    }
    return out;
  }

  #value(n: ApxNode, def: ApxDefinition, p: ApxPort): PortValue {
    const { file, side } = dataFile(n.side, def, p.direction);
    const data = this.files.get(side, file)?.data ?? null;
    let value: ApxValue | null = null;
    if (data !== null && p.offset + p.size <= data.length) value = readPort(p, data);
    return {
      node: def.nodeName,
      name: p.name,
      direction: p.direction,
      type: p.signature,
      value,
      file,
      fileSide: side,
      writable: side === "local",
    };
  }

  /**
   * The ports a write into `file` changed, with their new values: empty for
   * a file that holds no known node's port data.
   */
  changed(side: FileSide, file: string, offset: number, length: number): PortValue[] {
    const out: PortValue[] = [];
    if (!PORT_DATA_FILE.test(file)) return out; // the common case, kept cheap
    for (const n of this.nodes()) {
      const def = n.definition;
      if (!def) continue;
      for (const direction of ["provide", "require"] as const) {
        const where = dataFile(n.side, def, direction);
        if (where.side !== side || where.file !== file) continue;
        const ports = portsOf(def, direction);
        for (const p of portsInRange(ports, offset, length)) out.push(this.#value(n, def, p));
      }
    }
    return out;
  }

  /**
   * Encodes `value` for a port and says where it goes. `node` picks among
   * nodes with a port of that name. Throws NotFoundError (no such port),
   * InvalidInputError (two nodes have it and none was named; a value that
   * breaks the type or limits, naming its path under `body.value`),
   * ConflictError (the port's file is the peer's to write).
   */
  planWrite(port: string, value: unknown, node?: string): PortWrite {
    const hits: { n: ApxNode; def: ApxDefinition; p: ApxPort }[] = [];
    for (const n of this.nodes()) {
      const def = n.definition;
      if (!def || (node !== undefined && def.nodeName !== node)) continue;
      for (const p of [...def.providePorts, ...def.requirePorts]) {
        if (p.name === port) hits.push({ n, def, p });
      }
    }
    if (hits.length === 0) {
      throw new NotFoundError(
        `No APX port "${port}"${node === undefined ? "" : ` on node "${node}"`}`,
      );
    }
    if (hits.length > 1) {
      throw new InvalidInputError(
        "query.node",
        `is needed: nodes ${
          hits.map((h) => `"${h.def.nodeName}"`).join(", ")
        } have a port "${port}"`,
      );
    }
    const { n, def, p } = hits[0];
    const where = dataFile(n.side, def, p.direction);
    if (where.side !== "local") {
      throw new ConflictError(
        `Port "${port}" is a ${p.direction} port of ${
          n.side === "remote" ? "the peer's" : "our"
        } node "${def.nodeName}": its file "${where.file}" is written by the peer`,
      );
    }
    const file = this.files.get("local", where.file);
    if (!file) {
      throw new ConflictError(`Port "${port}" is in "${where.file}", which is not published yet`);
    }
    const write = encodePort(p, value, "value");
    return { file: where.file, offset: write.offset, data: write.data };
  }

  /**
   * For a peer node whose definition has require ports: the `.in` file we
   * must publish for it (with the ports' init values), unless we have it.
   */
  inFilesToPublish(): { name: string; data: Uint8Array }[] {
    const out: { name: string; data: Uint8Array }[] = [];
    for (const n of this.nodes()) {
      const def = n.definition;
      if (n.side !== "remote" || !def || def.requirePorts.length === 0) continue;
      if (this.files.get("local", def.fileNames.in)) continue;
      out.push({ name: def.fileNames.in, data: initialFileData(def, "require") });
    }
    return out;
  }
}

/** Where a direction's port data of a node lives: `.out` with the node, `.in` with the other side. */
function dataFile(
  nodeSide: FileSide,
  def: ApxDefinition,
  direction: PortDirection,
): { file: string; side: FileSide } {
  return direction === "provide"
    ? { file: def.fileNames.out, side: nodeSide }
    : { file: def.fileNames.in, side: other(nodeSide) };
}

/**
 * writePort, with a value the port's type or limits refuse as an
 * InvalidInputError on its path under `body` (`body.value.Speed[1]`).
 */
export function encodePort(
  port: ApxPort,
  value: unknown,
  path: string,
): { offset: number; data: Uint8Array } {
  try {
    return writePort(port, value, { path });
  } catch (e) {
    if (!(e instanceof ValueTypeError || e instanceof ValueRangeError)) throw e;
    throw new InvalidInputError(`body.${e.path}`, e.problem, { cause: e });
  }
}
