/**
 * The RemoteFile greeting: the client's first message, a short text
 * (`RMFP/1.0\n`, attribute lines `Key:Value`, a closing blank line) of at
 * most 127 bytes, so its NumHeader is one byte in either format. The
 * `NumHeader` attribute picks the format of later messages; the reference
 * client spells it `NumHeader-Format:32`, the spec `NumHeader: 32`; both are
 * accepted, and a greeting without it means 32.
 *
 * @example
 * ```ts
 * buildGreeting();                 // "RMFP/1.0\nNumHeader-Format:32\n\n" as bytes
 * parseGreeting(new TextEncoder().encode("RMFP/1.0\nNumHeader: 16\n\n")).numHeaderFormat; // 16
 * ```
 */
import type { NumHeaderFormat } from "./num_header.ts";

/** The longest greeting, in bytes. */
export const GREETING_MAX_BYTES = 127;
/** The first line (without its newline). */
export const GREETING_START = "RMFP/1.0";

/** A parsed greeting. */
export interface Greeting {
  /** NumHeader format of every later message (32 when not given). */
  numHeaderFormat: NumHeaderFormat;
  /** Every attribute as sent, keys as spelled, values trimmed; later duplicates win. */
  attributes: Record<string, string>;
}

/** Options for buildGreeting. */
export interface BuildGreetingOptions {
  /** Default 32. */
  numHeaderFormat?: NumHeaderFormat;
}

/** The greeting the reference client sends: `RMFP/1.0\nNumHeader-Format:<n>\n\n`. */
export function buildGreeting(opts: BuildGreetingOptions = {}): Uint8Array {
  const format = opts.numHeaderFormat ?? 32;
  if (format !== 16 && format !== 32) {
    throw new RangeError(`NumHeader format ${format} is not 16 or 32`);
  }
  return new TextEncoder().encode(`${GREETING_START}\nNumHeader-Format:${format}\n\n`);
}

const ATTRIBUTE_KEY = /^[A-Za-z0-9_-]+$/;

/**
 * Parses a greeting message body. Throws RangeError when it is longer than
 * 127 bytes or names a NumHeader format other than 16/32, SyntaxError for
 * anything else that is not a greeting (the reference server crashes on a
 * greeting without its closing blank line; we refuse it).
 */
export function parseGreeting(body: Uint8Array): Greeting {
  if (body.length > GREETING_MAX_BYTES) {
    throw new RangeError(
      `Greeting is ${body.length} bytes; the limit is ${GREETING_MAX_BYTES}`,
    );
  }
  for (const b of body) {
    // Text only: printable ASCII, tab, CR, LF. Binary here means the peer is not RemoteFile.
    if (b !== 0x0a && b !== 0x0d && b !== 0x09 && (b < 0x20 || b > 0x7e)) {
      throw new SyntaxError(
        `Greeting is not RemoteFile text: byte 0x${b.toString(16).padStart(2, "0")} in it`,
      );
    }
  }
  const text = String.fromCharCode(...body);
  if (!text.endsWith("\n")) {
    throw new SyntaxError(`Greeting ${JSON.stringify(text)} does not end with a newline`);
  }
  // A CR before LF is tolerated: the spec says LF, but a stray CR changes nothing here.
  const lines = text.slice(0, -1).split("\n").map((l) => l.endsWith("\r") ? l.slice(0, -1) : l);
  if (lines[0] !== GREETING_START) {
    throw new SyntaxError(
      `Greeting starts ${JSON.stringify(lines[0].slice(0, 20))}, not "${GREETING_START}"`,
    );
  }
  if (lines.length < 2 || lines[lines.length - 1] !== "") {
    throw new SyntaxError("Greeting does not end with a blank line");
  }
  const attributes: Record<string, string> = {};
  let numHeaderFormat: NumHeaderFormat = 32;
  for (const line of lines.slice(1, -1)) {
    if (line === "") throw new SyntaxError("Greeting goes on after its blank line");
    const colon = line.indexOf(":");
    const key = colon < 0 ? line : line.slice(0, colon).trim();
    if (colon < 0 || !ATTRIBUTE_KEY.test(key)) {
      throw new SyntaxError(`Greeting line ${JSON.stringify(line)} is not "Key:Value"`);
    }
    const value = line.slice(colon + 1).trim();
    attributes[key] = value;
    const k = key.toLowerCase();
    if (k === "numheader" || k === "numheader-format") {
      if (value !== "16" && value !== "32") {
        throw new RangeError(`Greeting asks for NumHeader "${value}"; only 16 and 32 exist`);
      }
      numHeaderFormat = value === "16" ? 16 : 32;
    }
  }
  return { numHeaderFormat, attributes };
}
