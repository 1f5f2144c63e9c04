/**
 * An APX node definition (the text of `Node.apx`) and the layout of its
 * port data files.
 *
 * Text facts (cogu/apx `specifications/idl/apx_idl_12.md`; py-apx
 * `apx/parser.py`; c-apx `apx/src/parser.c`):
 * - Lines end in `\n` (we also drop a trailing `\r`, as py-apx does). Empty
 *   lines are skipped (both references). py-apx strips `#` comments; we
 *   accept a `#` comment line and a `#` comment after a complete statement.
 * - Line 1 is the header `APX/1.2`. Then one node line `N"Name"`, then type
 *   lines `T"Name"<signature>[:<type attributes>]`, then port lines
 *   `P"Name"<signature>[:<port attributes>]` (provide, output) and
 *   `R"Name"<signature>[:<port attributes>]` (require, input), in any mix.
 * - Type attributes: `VT("a","b",…)` value tables (and c-apx 0.3's `RS(…)`),
 *   comma-separated; kept as text, they do not change the data.
 * - Port attributes, comma-separated: `=<init>` (see init_value.ts), `P`
 *   (parameter). `Q[n]` (queued) changes the packing in c-apx 0.3 and is not
 *   IDL 1.2, so it is refused.
 *
 * Packing facts (py-apx `apx/node_data.py`, c-apx `node_data.c`): the
 * provide ports' data is the node's `Name.out` file and the require ports'
 * `Name.in`; each port sits at the sum of the packed sizes of the ports of
 * the same direction declared before it. A port without init value starts
 * as zeros. py-apx offers no `.out` (`.in`) file when there are no provide
 * (require) ports.
 *
 * @example
 * ```ts
 * const def = parseDefinition('APX/1.2\nN"Car"\nP"Speed"S:=65535\nP"Gear"C(0,7)\n');
 * def.providePorts[1].offset; // 2
 * def.outFileSize; // 3
 * ```
 */
import { utf8Length } from "../../lib/bytes.ts";
import { type DataType, packedSize } from "./data_type.ts";
import { initToValue, readInitValue } from "./init_value.ts";
import { DEFAULT_SIGNATURE_LIMITS, readSignature, type SignatureLimits } from "./signature.ts";
import { LineCursor } from "./text_cursor.ts";
import { type ApxValue, encodeValue } from "./value_codec.ts";

/** The only APX IDL version read and written here. */
export const APX_VERSION = "1.2";

/** Bounds for {@link parseDefinition}; all are checked before allocating. */
export interface DefinitionLimits extends SignatureLimits {
  /** Largest definition text, in UTF-8 bytes. Default 1 MiB. */
  maxTextBytes?: number;
  /** Largest `.out` or `.in` file, in bytes. Default 1 MiB. */
  maxFileSize?: number;
}

/** A `T` line. */
export interface ApxTypeDeclaration {
  /** Its position among the type lines: what `T[index]` refers to. */
  readonly index: number;
  readonly name: string;
  /** The signature as written. */
  readonly signature: string;
  readonly type: DataType;
  /** The attribute text after `:`, as written. */
  readonly attributes?: string;
  /** The names of a `VT(…)` value table, value 0 first. */
  readonly valueTable?: readonly string[];
  readonly line: number;
}

/** Which file a port's data lives in: provide → `.out`, require → `.in`. */
export type PortDirection = "provide" | "require";

/** A `P` or `R` line, with where its data lives. */
export interface ApxPort {
  readonly name: string;
  readonly direction: PortDirection;
  /** The signature as written. */
  readonly signature: string;
  readonly type: DataType;
  /** The init value; the port starts as zeros without one. */
  readonly init?: ApxValue;
  /** The `P` (parameter) attribute. */
  readonly parameter: boolean;
  /** Byte offset in the `.out` (provide) or `.in` (require) file. */
  readonly offset: number;
  /** Packed size in bytes. */
  readonly size: number;
  readonly line: number;
}

/** A parsed definition. */
export interface ApxDefinition {
  readonly apxVersion: typeof APX_VERSION;
  readonly nodeName: string;
  readonly types: readonly ApxTypeDeclaration[];
  readonly providePorts: readonly ApxPort[];
  readonly requirePorts: readonly ApxPort[];
  /** Size of `Name.out` (sum of the provide ports' sizes). */
  readonly outFileSize: number;
  /** Size of `Name.in` (sum of the require ports' sizes). */
  readonly inFileSize: number;
  /** `Name.apx`, `Name.out`, `Name.in`: the RemoteFile names APX uses. */
  readonly fileNames: { readonly definition: string; readonly out: string; readonly in: string };
}

/** Defaults for {@link DefinitionLimits}. */
export const DEFAULT_DEFINITION_LIMITS: Required<DefinitionLimits> = {
  ...DEFAULT_SIGNATURE_LIMITS,
  maxTextBytes: 1 << 20,
  maxFileSize: 1 << 20,
};

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Parses definition text (a string, or the bytes of a `.apx` file: UTF-8,
 * trailing NULs ignored). Throws SyntaxError naming the line and what is
 * wrong, or RangeError when a bound is exceeded.
 */
export function parseDefinition(
  text: string | Uint8Array,
  limits: DefinitionLimits = {},
): ApxDefinition {
  const bounds = { ...DEFAULT_DEFINITION_LIMITS, ...limits };
  const source = toText(text, bounds.maxTextBytes);
  const state = new DefinitionBuilder(bounds);
  const lines = source.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].endsWith("\r") ? lines[i].slice(0, -1) : lines[i];
    if (line.trim() === "" || line.startsWith("#")) continue;
    state.statement(new LineCursor(line, i + 1));
  }
  return state.finish(lines.length);
}

function toText(text: string | Uint8Array, maxBytes: number): string {
  if (typeof text === "string") {
    if (text.length > maxBytes || utf8Length(text) > maxBytes) {
      throw new RangeError(`Definition text is larger than ${maxBytes} bytes`);
    }
    return text;
  }
  if (text.length > maxBytes) {
    throw new RangeError(`Definition text is ${text.length} bytes, larger than ${maxBytes}`);
  }
  let end = text.length;
  while (end > 0 && text[end - 1] === 0) end--;
  try {
    return utf8.decode(text.subarray(0, end));
  } catch {
    throw new SyntaxError("Definition text is not valid UTF-8");
  }
}

/** Accumulates statements in order and checks the file structure. */
class DefinitionBuilder {
  version?: string;
  nodeName?: string;
  types: ApxTypeDeclaration[] = [];
  // Name lookups by map: a definition may have thousands of lines.
  typeIndex = new Map<string, number>();
  portNames = { provide: new Set<string>(), require: new Set<string>() };
  ports = { provide: [] as ApxPort[], require: [] as ApxPort[] };
  sizes = { provide: 0, require: 0 };

  constructor(readonly bounds: Required<DefinitionLimits>) {}

  statement(c: LineCursor): void {
    if (this.version === undefined) return this.header(c);
    const kind = c.peek();
    c.pos++;
    if (kind === "N") this.node(c);
    else if (kind === "T") this.type(c);
    else if (kind === "P" || kind === "R") this.port(c, kind === "P" ? "provide" : "require");
    else c.fail(`unknown statement ${JSON.stringify(kind)}; expected N, T, P or R`, 0);
    c.skipSpaces();
    if (!c.done && c.peek() !== "#") c.fail(`unexpected ${c.describeNext()} after the statement`);
  }

  header(c: LineCursor): void {
    const m = /^APX\/(\d{1,3})\.(\d{1,3})\s*$/.exec(c.text);
    if (!m) {
      c.fail(
        `expected the header "APX/${APX_VERSION}", found ${JSON.stringify(c.text.slice(0, 20))}`,
        0,
      );
    }
    const version = `${Number(m[1])}.${Number(m[2])}`;
    if (version !== APX_VERSION) {
      c.fail(`unsupported APX version ${version}; this parser reads APX/${APX_VERSION}`, 4);
    }
    this.version = version;
  }

  node(c: LineCursor): void {
    if (this.nodeName !== undefined) c.fail("a definition has exactly one node line (N)", 0);
    this.nodeName = c.name("node name");
  }

  requireNode(c: LineCursor, what: string): void {
    if (this.nodeName === undefined) c.fail(`${what} before the node line (N"Name")`, 0);
  }

  type(c: LineCursor): void {
    this.requireNode(c, "type declaration");
    if (this.ports.provide.length + this.ports.require.length > 0) {
      c.fail("type declarations (T) must come before the port declarations", 0);
    }
    const name = c.name("type name");
    if (this.typeIndex.has(name)) c.fail(`type "${name}" is declared twice`, 1);
    const sigStart = c.pos;
    const type = this.signature(c);
    const signature = c.text.slice(sigStart, c.pos);
    let attributes: string | undefined;
    let valueTable: string[] | undefined;
    if (c.eat(":")) {
      const start = c.pos;
      valueTable = readTypeAttributes(c);
      attributes = c.text.slice(start, c.pos);
    }
    this.typeIndex.set(name, this.types.length);
    this.types.push({
      index: this.types.length,
      name,
      signature,
      type,
      ...(attributes !== undefined && { attributes }),
      ...(valueTable !== undefined && { valueTable }),
      line: c.line,
    });
  }

  port(c: LineCursor, direction: PortDirection): void {
    this.requireNode(c, "port declaration");
    const name = c.name("port name");
    const list = this.ports[direction];
    if (this.portNames[direction].has(name)) {
      c.fail(`${direction} port "${name}" is declared twice`, 1);
    }
    const sigStart = c.pos;
    const type = this.signature(c);
    const signature = c.text.slice(sigStart, c.pos);
    const size = packedSize(type);
    const attrs = c.eat(":") ? this.portAttributes(c, type) : { parameter: false };
    const offset = this.sizes[direction];
    if (offset + size > this.bounds.maxFileSize) {
      c.tooLarge(
        `port data would reach ${
          offset + size
        } bytes, more than the ${this.bounds.maxFileSize} allowed per file`,
        0,
      );
    }
    this.sizes[direction] = offset + size;
    this.portNames[direction].add(name);
    list.push({ name, direction, signature, type, ...attrs, offset, size, line: c.line });
  }

  portAttributes(c: LineCursor, type: DataType): { init?: ApxValue; parameter: boolean } {
    let init: ApxValue | undefined;
    let parameter = false;
    for (;;) {
      c.skipSpaces();
      const at = c.pos;
      if (c.eat("=")) {
        if (init !== undefined) c.fail("the port has two init values", at);
        const value = readInitValue(c, this.bounds.maxDepth);
        try {
          init = initToValue(type, value);
          encodeValue(type, init, { checkLimits: false }); // same checks as data writes
        } catch (e) {
          c.fail((e as Error).message, at + 1);
        }
      } else if (c.eat("P")) {
        parameter = true;
      } else if (c.peek() === "Q") {
        c.fail("queued ports (Q[n]) are not part of APX 1.2");
      } else {
        c.fail(`expected a port attribute (=init or P), found ${c.describeNext()}`);
      }
      c.skipSpaces();
      if (!c.eat(",")) break;
    }
    return init === undefined ? { parameter } : { init, parameter };
  }

  signature(c: LineCursor): DataType {
    const { maxDepth, maxArrayLength, maxSize, maxFileSize } = this.bounds;
    const limits = { maxDepth, maxArrayLength, maxSize: Math.min(maxSize, maxFileSize) };
    return readSignature(c, this.types, limits, (name) => this.typeIndex.get(name) ?? -1);
  }

  finish(lineCount: number): ApxDefinition {
    if (this.version === undefined) {
      throw new SyntaxError(`Line 1: expected the header "APX/${APX_VERSION}", found no text`);
    }
    if (this.nodeName === undefined) {
      throw new SyntaxError(`Line ${lineCount}: the definition has no node line (N"Name")`);
    }
    const name = this.nodeName;
    return {
      apxVersion: APX_VERSION,
      nodeName: name,
      types: this.types,
      providePorts: this.ports.provide,
      requirePorts: this.ports.require,
      outFileSize: this.sizes.provide,
      inFileSize: this.sizes.require,
      fileNames: { definition: `${name}.apx`, out: `${name}.out`, in: `${name}.in` },
    };
  }
}

/**
 * Reads `NAME(…)` type attributes separated by commas, to the end of the
 * statement; returns the names of a `VT(…)` value table if there is one.
 */
function readTypeAttributes(c: LineCursor): string[] | undefined {
  let valueTable: string[] | undefined;
  for (;;) {
    c.skipSpaces();
    const m = /^[A-Za-z]+/.exec(c.text.slice(c.pos, c.pos + 16));
    if (!m) c.fail(`expected a type attribute such as VT(…), found ${c.describeNext()}`);
    c.pos += m[0].length;
    c.expect("(", `"(" after ${m[0]}`);
    const strings: string[] = [];
    for (;;) {
      c.skipSpaces();
      if (c.peek() === '"') strings.push(c.stringLiteral("value table entry"));
      else if (c.eat(")")) break;
      else if (c.done) c.fail(`${m[0]}( has no closing ")"`);
      else if (c.peek() === "(") c.fail(`unexpected "(" inside ${m[0]}(…)`);
      else c.pos++;
    }
    if (m[0] === "VT") valueTable = strings;
    c.skipSpaces();
    if (!c.eat(",")) return valueTable;
  }
}
