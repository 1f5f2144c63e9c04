/**
 * HTTP Range (RFC 9110 §14) for content of a known size, as the gateway
 * serves it: one byte range (`bytes=a-b`, `bytes=a-`, `bytes=-n`) becomes
 * a 206; a range that selects nothing, a 416. What the RFC lets a server
 * ignore is ignored (the whole content, 200): another unit, a list of
 * ranges, a range that does not parse.
 *
 * @example
 * ```ts
 * byteRange("bytes=-500", 10_000); // { start: 9500, end: 9999 }
 * byteRange("bytes=20000-", 10_000); // "unsatisfiable"
 * ```
 */

/** Both inclusive, as in Content-Range. */
export interface SatisfiableRange {
  start: number;
  end: number;
}

/** What a Range field asks of content of `size` bytes: a range, nothing (ignored), or a 416. */
export function byteRange(
  field: string | null,
  size: number,
): SatisfiableRange | "unsatisfiable" | undefined {
  if (field === null) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(field);
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const last = m[2] === "" ? Infinity : Number(m[2]);
  if (last < start) return undefined; // invalid, so ignored (RFC 9110 §14.1.1)
  if (start >= size) return "unsatisfiable";
  return { start, end: Math.min(last, size - 1) };
}

/** The Content-Range of a 206. */
export function contentRange(range: SatisfiableRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}

/** The Content-Range of a 416. */
export function unsatisfiedRange(size: number): string {
  return `bytes */${size}`;
}
