/**
 * A map of files in one 1 GB address space (the local one, or the mirror of
 * the peer's): files by start address and by name, no two overlapping, none
 * reaching into the control area. It also allocates addresses for local
 * files the way APX does: port data (`.in`, `.out`) from 0x0 on 1 KB
 * boundaries, definitions (`.apx`) from 0x4000000 on 1 MB boundaries, any
 * other file from 0x20000000 on 1 MB boundaries.
 *
 * @example
 * ```ts
 * const map = new FileMap<{ open: boolean }>();
 * const address = map.allocate("Node.apx", 5800);        // 0x4000000
 * map.add({ address, size: 5800, name: "Node.apx", open: false });
 * map.findRange(0x4000010, 4)?.name;                      // "Node.apx"
 * ```
 */
import { ConflictError } from "../../lib/errors.ts";
import { CONTROL_AREA_START, hexAddress } from "./address.ts";

/** What a FileMap needs of each entry. */
export interface MappedFile {
  address: number;
  size: number;
  name: string;
}

/** An address region and how allocations in it are aligned. */
export interface AddressRegion {
  start: number;
  /** First address past the region. */
  end: number;
  alignment: number;
}

/** APX port data files (`.in`, `.out`). */
export const PORT_DATA_REGION: AddressRegion = { start: 0, end: 0x4000000, alignment: 0x400 };
/** APX definition files (`.apx`). */
export const DEFINITION_REGION: AddressRegion = {
  start: 0x4000000,
  end: 0x20000000,
  alignment: 0x100000,
};
/** Every other file. */
export const USER_REGION: AddressRegion = {
  start: 0x20000000,
  end: CONTROL_AREA_START,
  alignment: 0x100000,
};

/** The region APX puts a file of this name in. */
export function regionFor(name: string): AddressRegion {
  const dot = name.lastIndexOf(".");
  const ext = dot < 0 ? "" : name.slice(dot + 1).toLowerCase();
  if (ext === "in" || ext === "out") return PORT_DATA_REGION;
  if (ext === "apx") return DEFINITION_REGION;
  return USER_REGION;
}

/** Files in an address space, kept sorted by address. */
export class FileMap<T extends MappedFile = MappedFile> {
  #sorted: T[] = [];
  #byName = new Map<string, T>();

  /** Number of files. */
  get size(): number {
    return this.#sorted.length;
  }

  /** Files in address order. */
  list(): readonly T[] {
    return this.#sorted;
  }

  /** The file with this name. */
  get(name: string): T | undefined {
    return this.#byName.get(name);
  }

  /** The file that starts at `address` (a file's identity in commands). */
  getByAddress(address: number): T | undefined {
    const i = this.#indexAtOrBefore(address);
    const f = i >= 0 ? this.#sorted[i] : undefined;
    return f?.address === address ? f : undefined;
  }

  /** The file holding byte `address`. */
  find(address: number): T | undefined {
    const i = this.#indexAtOrBefore(address);
    const f = i >= 0 ? this.#sorted[i] : undefined;
    return f && address < f.address + f.size ? f : undefined;
  }

  /** The file holding all of `[address, address + length)`, or undefined (no file, or it spans out). */
  findRange(address: number, length: number): T | undefined {
    const i = this.#indexAtOrBefore(address);
    const f = i >= 0 ? this.#sorted[i] : undefined;
    if (!f) return undefined;
    // An empty write at a file's end is still inside it; any byte past the end is not.
    return address + length <= f.address + f.size && (address < f.address + f.size || length === 0)
      ? f
      : undefined;
  }

  /**
   * Adds a file. RangeError when it does not fit below the control area,
   * ConflictError when its name is taken or it overlaps another file.
   */
  add(file: T): void {
    const { address, size, name } = file;
    if (
      !Number.isInteger(address) || !Number.isInteger(size) || address < 0 || size < 0 ||
      address + size > CONTROL_AREA_START
    ) {
      throw new RangeError(
        `File "${name}" of ${size} bytes at ${address} does not fit below the control area`,
      );
    }
    if (this.#byName.has(name)) throw new ConflictError(`A file named "${name}" exists`);
    const clash = this.#overlap(address, size);
    if (clash) {
      throw new ConflictError(
        `File "${name}" at ${hexAddress(address)} (${size} bytes) overlaps "${clash.name}" at ${
          hexAddress(clash.address)
        } (${clash.size} bytes)`,
      );
    }
    const i = this.#indexAtOrBefore(address) + 1;
    this.#sorted.splice(i, 0, file);
    this.#byName.set(name, file);
  }

  /** Removes the file starting at `address`; returns it. */
  remove(address: number): T | undefined {
    const f = this.getByAddress(address);
    if (!f) return undefined;
    this.#sorted.splice(this.#sorted.indexOf(f), 1);
    this.#byName.delete(f.name);
    return f;
  }

  /**
   * The lowest free address for a file of `size` bytes in `region` (by
   * default the one APX uses for `name`), aligned as the region says.
   * RangeError when the region has no room.
   */
  allocate(name: string, size: number, region: AddressRegion = regionFor(name)): number {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`File size ${size} is invalid`);
    const align = (a: number) => Math.ceil(a / region.alignment) * region.alignment;
    let candidate = region.start;
    for (const f of this.#sorted) {
      if (f.address + Math.max(f.size, 1) <= candidate) continue;
      if (f.address >= region.end) break;
      // An empty file still takes its start address, so nothing else is put there.
      if (candidate + Math.max(size, 1) <= f.address) break;
      candidate = align(f.address + Math.max(f.size, 1));
    }
    if (candidate + size > region.end) {
      throw new RangeError(
        `No room for "${name}" (${size} bytes) between ${hexAddress(region.start)} and ${
          hexAddress(region.end)
        }`,
      );
    }
    return candidate;
  }

  #overlap(address: number, size: number): T | undefined {
    const i = this.#indexAtOrBefore(address);
    // Two files cannot share a start address, even when one is empty.
    const before = i >= 0 ? this.#sorted[i] : undefined;
    if (before && (before.address === address || address < before.address + before.size)) {
      return before;
    }
    const after = this.#sorted[i + 1];
    if (after && after.address < address + Math.max(size, 1)) return after;
    return undefined;
  }

  /** Index of the last file starting at or before `address`, or −1. */
  #indexAtOrBefore(address: number): number {
    let lo = 0, hi = this.#sorted.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.#sorted[mid].address <= address) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }
}
