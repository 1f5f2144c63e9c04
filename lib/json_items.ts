/**
 * The items of a large JSON array, or the lines of NDJSON, one at a time
 * from a text stream: a bulk body is validated item by item as it arrives,
 * never held whole as text or as one parsed tree.
 *
 * The array splitter only finds where each top-level item starts and ends
 * (tracking strings, escapes and nesting); each item is then parsed on its
 * own, so a malformed item is reported by its parser with its index.
 *
 * @example
 * ```ts
 * for await (const item of jsonArrayItems(body.pipeThrough(new TextDecoderStream()))) {
 *   JSON.parse(item);
 * }
 * ```
 */

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
// The splitter's states.
const Start = 0; // before "["
const Open = 1; // after "[": an item or "]"
const Next = 2; // after ",": an item
const Item = 3; // inside an item
const Done = 4; // after "]"

/** The text of each top-level item of a JSON array; throws SyntaxError when the text is not one. */
export async function* jsonArrayItems(text: AsyncIterable<string>): AsyncGenerator<string> {
  let state: number = Start;
  let depth = 0, inString = false, escaped = false;
  let parts: string[] = [];
  let at = 0; // characters before this chunk, for messages
  for await (const chunk of text) {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (state === Item) {
        if (inString) {
          if (escaped) escaped = false;
          else if (c === 0x5c) escaped = true;
          else if (c === 0x22) inString = false;
        } else if (c === 0x22) inString = true;
        else if (c === 0x7b || c === 0x5b) depth++;
        else if ((c === 0x7d || c === 0x5d) && depth > 0) depth--;
        else if ((c === 0x2c || c === 0x5d) && depth === 0) {
          parts.push(chunk.slice(start, i));
          yield parts.join("");
          parts = [];
          state = c === 0x2c ? Next : Done;
        }
        continue;
      }
      if (WS.has(c)) continue;
      if (state === Start && c === 0x5b) state = Open;
      else if (state === Open && c === 0x5d) state = Done;
      else if (state === Open || state === Next) {
        state = Item;
        start = i--; // read this character again, as the item's first
      } else {
        throw new SyntaxError(`Unexpected "${String.fromCharCode(c)}" at character ${at + i}`);
      }
    }
    if (state === Item) parts.push(chunk.slice(start));
    at += chunk.length;
  }
  if (state !== Done) throw new SyntaxError("Unexpected end of JSON array");
}

/** The non-blank lines of NDJSON text, with their line numbers (from 1). */
export async function* ndjsonLines(
  text: AsyncIterable<string>,
): AsyncGenerator<{ line: number; text: string }> {
  let rest = "";
  let n = 0;
  for await (const chunk of text) {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop()!;
    for (const line of lines) {
      n++;
      if (line.trim()) yield { line: n, text: line };
    }
  }
  if (rest.trim()) yield { line: n + 1, text: rest };
}
