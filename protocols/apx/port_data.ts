/**
 * Port values inside a node's `.out` / `.in` files: the initial file
 * content, reading and writing one port, and which ports a RemoteFile write
 * touched.
 *
 * @example
 * ```ts
 * const def = parseDefinition('APX/1.2\nN"Car"\nP"Speed"S:=65535\nP"Gear"C(0,7)\n');
 * const out = initialFileData(def, "provide"); // ff ff 00
 * const write = writePort(def.providePorts[1], 3); // { offset: 2, data: 03 }
 * out.set(write.data, write.offset);
 * readPort(def.providePorts[1], out); // 3
 * portsInRange(def.providePorts, 1, 2).map((p) => p.name); // ["Speed", "Gear"]
 * ```
 */
import type { ApxDefinition, ApxPort, PortDirection } from "./definition.ts";
import { type ApxValue, decodeValue, type EncodeOptions, encodeValue } from "./value_codec.ts";

/** The ports whose data is in the `.out` (provide) or `.in` (require) file. */
export function portsOf(def: ApxDefinition, direction: PortDirection): readonly ApxPort[] {
  return direction === "provide" ? def.providePorts : def.requirePorts;
}

/** A port by name, or undefined. */
export function findPort(
  def: ApxDefinition,
  direction: PortDirection,
  name: string,
): ApxPort | undefined {
  return portsOf(def, direction).find((p) => p.name === name);
}

/**
 * The content of a fresh `.out` (provide) or `.in` (require) file: each
 * port's init value, zeros where there is none.
 */
export function initialFileData(def: ApxDefinition, direction: PortDirection): Uint8Array {
  const ports = portsOf(def, direction);
  const out = new Uint8Array(direction === "provide" ? def.outFileSize : def.inFileSize);
  for (const p of ports) {
    // Init values were checked while parsing; limits do not apply to them.
    if (p.init !== undefined) {
      out.set(encodeValue(p.type, p.init, { checkLimits: false }), p.offset);
    }
  }
  return out;
}

/** Decodes a port's value from the whole file content (RangeError if it is too short). */
export function readPort(port: ApxPort, file: Uint8Array): ApxValue {
  return decodeValue(port.type, file, port.offset);
}

/**
 * Encodes a new value for a port (checked against its type and limits;
 * errors name the port) as the bytes to write at `offset` in its file.
 */
export function writePort(
  port: ApxPort,
  value: unknown,
  options: EncodeOptions = {},
): { offset: number; data: Uint8Array } {
  return {
    offset: port.offset,
    data: encodeValue(port.type, value, { path: port.name, ...options }),
  };
}

/**
 * The ports (of one file, in declaration order) whose bytes overlap
 * `[offset, offset + length)`: those a RemoteFile write there changed.
 */
export function portsInRange(
  ports: readonly ApxPort[],
  offset: number,
  length: number,
): ApxPort[] {
  if (length <= 0) return [];
  const end = offset + length;
  // Offsets ascend with declaration order: find the first port ending after `offset`.
  let lo = 0;
  let hi = ports.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ports[mid].offset + ports[mid].size <= offset) lo = mid + 1;
    else hi = mid;
  }
  const hit: ApxPort[] = [];
  for (let i = lo; i < ports.length && ports[i].offset < end; i++) {
    hit.push(ports[i]);
  }
  return hit;
}
