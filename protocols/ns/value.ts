/**
 * What an IPNS record's value points at. The `ipns` package hands values
 * over normalised: a CID becomes `/ipfs/<CIDv1>`, a key `/ipns/<name>`;
 * any other path starting with `/` stays as written.
 *
 * @example
 * ```ts
 * parseValue("/ipfs/bafkrei…");       // { kind: "ipfs", root: "bafkrei…", rest: "" }
 * parseValue("/ipns/k51…/index.html"); // { kind: "ipns", root: "k51…", rest: "/index.html" }
 * ```
 */

/** A value path, split: its namespace, the CID or name after it, and the path below that. */
export type ValueTarget =
  | { kind: "ipfs" | "ipns"; root: string; rest: string }
  | { kind: "other"; path: string };

/** Splits a record's value path. */
export function parseValue(value: string): ValueTarget {
  const m = /^\/(ipfs|ipns)\/([^/?#]+)(.*)$/s.exec(value);
  if (!m) return { kind: "other", path: value };
  // A trailing "/" names the root itself.
  return { kind: m[1] as "ipfs" | "ipns", root: m[2], rest: m[3] === "/" ? "" : m[3] };
}
