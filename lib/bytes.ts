/**
 * Byte helpers shared by every layer: hex and base64 as the API conventions
 * want them (`0x`-hex for hashes and ids, base64 for payloads).
 *
 * @example
 * ```ts
 * toHex0x(new Uint8Array([1, 255])); // "0x01ff"
 * ```
 */

/** Formats bytes as lower-case hex with a `0x` prefix. */
export function toHex0x(bytes: Uint8Array): string {
  return "0x" + bytes.toHex();
}

/** Parses `0x`-hex (the prefix is optional); throws SyntaxError on anything else. */
export function fromHex0x(text: string): Uint8Array {
  const hex = text.startsWith("0x") || text.startsWith("0X") ? text.slice(2) : text;
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new SyntaxError(`Invalid hex string "${preview(text)}"`);
  }
  return Uint8Array.fromHex(hex);
}

/** Encodes bytes as standard padded base64. */
export function toBase64(bytes: Uint8Array): string {
  return bytes.toBase64();
}

/**
 * Decodes standard base64 (padding optional, whitespace not allowed); throws
 * SyntaxError naming the problem.
 */
export function fromBase64(text: string): Uint8Array {
  // Uint8Array.fromBase64 skips ASCII whitespace; a payload with whitespace is a client's bug.
  if (/[\t\n\f\r ]/.test(text)) {
    throw new SyntaxError(`Invalid base64 string "${preview(text)}": it contains whitespace`);
  }
  try {
    return Uint8Array.fromBase64(text, { lastChunkHandling: "loose" });
  } catch {
    throw new SyntaxError(`Invalid base64 string "${preview(text)}"`);
  }
}

/** Writes a signed 64-bit integer big-endian. */
export function int64BE(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, value, false);
  return out;
}

/** Concatenates byte arrays into one new array. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Whether two byte strings are equal, in time that depends on their length only (for secrets). */
export function equalSecret(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.min(a.length, b.length); i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** Byte-wise comparison, as KV orders Uint8Array key parts. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

/** Whether two byte strings are equal (not constant-time: see equalSecret for secrets). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return compareBytes(a, b) === 0;
}

/** Shortens user input quoted in error messages. */
export function preview(text: string, max = 40): string {
  return text.length > max ? text.slice(0, max) + "…" : text;
}

/** UTF-8 byte length of a string, for limits measured in bytes. */
export function utf8Length(text: string): number {
  // Counted here rather than by encoding: TextEncoder.encode is a call into the runtime
  // (~1.5 µs in Deno), and topics are measured several times per message.
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3; // a lone surrogate is encoded as U+FFFD
    } else n += 3;
  }
  return n;
}

/** UTF-8 bytes of a string, as TextEncoder.encode gives them, at a fraction of its cost. */
export function utf8Encode(text: string): Uint8Array {
  const out = new Uint8Array(utf8Length(text));
  encoder.encodeInto(text, out);
  return out;
}

const encoder = new TextEncoder();
