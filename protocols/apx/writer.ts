/**
 * Writes APX/1.2 definition text from a structure, so the gateway can be an
 * APX node and publish its own `Name.apx`.
 *
 * The output follows py-apx's writer (`apx/node.py` dumps): the header, the
 * node line, the type lines, the provide ports, the require ports, one per
 * line, each ending in `\n`. Type references are written `T[index]` (the
 * IDL 1.2 form). The result is parsed again before it is returned, so it is
 * always text {@link parseDefinition} accepts.
 *
 * A parsed {@link ApxDefinition} is itself a valid input.
 *
 * @example
 * ```ts
 * writeDefinition({
 *   nodeName: "Gateway",
 *   types: [{ name: "Speed_T", signature: "S" }],
 *   providePorts: [{ name: "Speed", signature: "T[0]", init: 65535 }],
 *   requirePorts: [{ name: "Mode", signature: "C(0,3)", init: 3 }],
 * });
 * // 'APX/1.2\nN"Gateway"\nT"Speed_T"S\nP"Speed"T[0]:=65535\nR"Mode"C(0,3):=3\n'
 * ```
 */
import type { DataType } from "./data_type.ts";
import { APX_VERSION, type DefinitionLimits, parseDefinition } from "./definition.ts";
import { formatInitValue } from "./init_value.ts";
import { formatSignature, type NamedType, parseSignature } from "./signature.ts";
import { MAX_NAME_LENGTH } from "./text_cursor.ts";
import { encodeValue } from "./value_codec.ts";

/** A type declaration to write. */
export interface TypeInput {
  readonly name: string;
  /** Signature text (references to earlier types allowed) or a type tree. */
  readonly signature: string | DataType;
  /** Type attribute text after `:`, e.g. `VT("Off","On")`. */
  readonly attributes?: string;
}

/** A port to write. */
export interface PortInput {
  readonly name: string;
  /** Signature text (may reference the types) or a type tree. */
  readonly signature: string | DataType;
  /** Init value as a JSON value of the port's type (limits are not applied). */
  readonly init?: unknown;
  /** The `P` (parameter) attribute. */
  readonly parameter?: boolean;
}

/** A node definition to write. */
export interface DefinitionInput {
  readonly nodeName: string;
  readonly types?: readonly TypeInput[];
  readonly providePorts?: readonly PortInput[];
  readonly requirePorts?: readonly PortInput[];
}

/**
 * Builds definition text. Throws TypeError or RangeError naming the part
 * that cannot be written (a bad name, a value that does not fit), or
 * SyntaxError for a signature or attribute text that does not parse.
 */
export function writeDefinition(input: DefinitionInput, limits: DefinitionLimits = {}): string {
  const lines = [`APX/${APX_VERSION}`, `N"${checkName(input.nodeName, "node name")}"`];
  const named: NamedType[] = [];
  for (const t of input.types ?? []) {
    const name = checkName(t.name, "type name");
    const type = toType(t.signature, named, `type "${name}"`);
    named.push({ name, type });
    const attrs = t.attributes === undefined ? "" : `:${singleLine(t.attributes, name)}`;
    lines.push(`T"${name}"${formatSignature(type)}${attrs}`);
  }
  for (const [letter, ports] of [["P", input.providePorts], ["R", input.requirePorts]] as const) {
    for (const p of ports ?? []) lines.push(portLine(letter, p, named));
  }
  const text = lines.join("\n") + "\n";
  parseDefinition(text, limits);
  return text;
}

function portLine(letter: "P" | "R", p: PortInput, types: readonly NamedType[]): string {
  const name = checkName(p.name, "port name");
  const type = toType(p.signature, types, `port "${name}"`);
  const attrs: string[] = [];
  if (p.init !== undefined) {
    // Same checks as a data write, without limits: init values may sit outside them.
    encodeValue(type, p.init, { checkLimits: false, path: `${name} init value` });
    attrs.push("=" + formatInitValue(type, p.init as never));
  }
  if (p.parameter) attrs.push("P");
  return `${letter}"${name}"${formatSignature(type)}${attrs.length ? ":" + attrs.join(",") : ""}`;
}

function toType(signature: string | DataType, types: readonly NamedType[], what: string): DataType {
  if (typeof signature !== "string") return signature;
  try {
    return parseSignature(signature, types);
  } catch (e) {
    if (e instanceof SyntaxError) throw new SyntaxError(`Signature of ${what}: ${e.message}`);
    throw e;
  }
}

function checkName(name: string, what: string): string {
  if (typeof name !== "string" || name.length === 0 || name.length > MAX_NAME_LENGTH) {
    throw new TypeError(`The ${what} must be 1 to ${MAX_NAME_LENGTH} characters`);
  }
  // deno-lint-ignore no-control-regex
  if (/["\x00-\x1f\x7f]/.test(name)) {
    throw new TypeError(
      `The ${what} ${JSON.stringify(name)} contains a quote or control character`,
    );
  }
  return name;
}

function singleLine(text: string, name: string): string {
  if (/[\r\n]/.test(text)) throw new TypeError(`Attributes of type "${name}" must be one line`);
  return text;
}
