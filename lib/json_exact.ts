/**
 * JSON with exact 64-bit integers: JSON.parse turns an integer literal into
 * a double, which loses digits past 2^53 (a Unix time in ns has 19). Every
 * integer literal under one of the named keys comes back as its decimal
 * digits in a string, for a schema to read as a bigint; other values parse
 * as JSON.parse would.
 *
 * The literals are quoted in the text before JSON.parse: a reviver with
 * source access would do the same but costs ~17× a plain parse. The pattern
 * takes only a whole JSON integer right after such a key (whose opening
 * quote is not escaped, so it is not inside a string) and before `,`, `}`
 * or `]`: valid text stays valid, invalid text invalid.
 *
 * @example
 * ```ts
 * parseJsonExact('{"timestamp":1732000000000000001}', ["timestamp"]); // {timestamp: "1732000000000000001"}
 * ```
 */

const patterns = new Map<string, RegExp>();

function patternFor(keys: readonly string[]): RegExp {
  const id = keys.join("\0");
  let re = patterns.get(id);
  if (!re) {
    const names = keys.map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
    // The lookbehind: the opening quote is not escaped (an even run of backslashes before it).
    re = new RegExp(
      `(?<=(?:^|[^\\\\])(?:\\\\\\\\)*)"(${names})"(\\s*):(\\s*)(-?(?:0|[1-9]\\d*))(?=\\s*[,}\\]])`,
      "g",
    );
    patterns.set(id, re);
  }
  return re;
}

/** Parses JSON, keeping the integers under `keys` exact as decimal strings; throws SyntaxError. */
export function parseJsonExact(text: string, keys: readonly string[]): unknown {
  if (keys.length === 0) return JSON.parse(text);
  return JSON.parse(text.replace(patternFor(keys), '"$1"$2:$3"$4"'));
}
