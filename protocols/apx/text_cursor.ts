/**
 * A cursor over one line of APX text: the lexical pieces every statement is
 * made of (string literals, integers), and errors that name the line and
 * column. Syntax errors are SyntaxError; a bound that the text exceeds is
 * RangeError.
 *
 * @example
 * ```ts
 * const c = new LineCursor('"Speed"S', 3);
 * c.name("port name"); // "Speed"
 * c.peek(); // "S"
 * ```
 */

/** Longest name accepted (node, type, port, record field). */
export const MAX_NAME_LENGTH = 255;

/** Reads one line left to right. */
export class LineCursor {
  /** Index of the next character. */
  pos = 0;

  /** `line` is 1-based and only used in messages. */
  constructor(readonly text: string, readonly line: number) {}

  /** Whether the whole line has been read. */
  get done(): boolean {
    return this.pos >= this.text.length;
  }

  /** The next character, or "" at the end. */
  peek(): string {
    return this.text[this.pos] ?? "";
  }

  /** Consumes `ch` when it comes next. */
  eat(ch: string): boolean {
    if (this.text[this.pos] !== ch) return false;
    this.pos++;
    return true;
  }

  /** Consumes `ch` or fails naming what was expected. */
  expect(ch: string, what: string): void {
    if (!this.eat(ch)) this.fail(`expected ${what}, found ${this.describeNext()}`);
  }

  /** Skips spaces and tabs (c-apx allows them inside `()`, `[]` and initializers). */
  skipSpaces(): void {
    while (this.text[this.pos] === " " || this.text[this.pos] === "\t") this.pos++;
  }

  /** Throws a SyntaxError at the current position. */
  fail(message: string, at = this.pos): never {
    throw new SyntaxError(`Line ${this.line}, column ${at + 1}: ${message}`);
  }

  /** Throws a RangeError (a bound exceeded) at the current position. */
  tooLarge(message: string, at = this.pos): never {
    throw new RangeError(`Line ${this.line}, column ${at + 1}: ${message}`);
  }

  /** The next character quoted for a message, or "end of line". */
  describeNext(): string {
    return this.done ? "end of line" : JSON.stringify(this.peek());
  }

  /** A quoted name: 1–255 characters, no quote or control characters. */
  name(what: string): string {
    const start = this.pos;
    const text = this.stringLiteral(what);
    if (text.length === 0) this.fail(`${what} must not be empty`, start);
    if (text.length > MAX_NAME_LENGTH) {
      this.fail(`${what} is longer than ${MAX_NAME_LENGTH} characters`, start);
    }
    return text;
  }

  /** A `"…"` literal (may be empty); no escapes, as in IDL 1.2 and py-apx. */
  stringLiteral(what: string): string {
    const start = this.pos;
    this.expect('"', `${what} in double quotes`);
    const end = this.text.indexOf('"', this.pos);
    if (end < 0) this.fail(`${what} has no closing double quote`, start);
    const text = this.text.slice(this.pos, end);
    // deno-lint-ignore no-control-regex
    const bad = /[\x00-\x1f\x7f]/.exec(text);
    if (bad) this.fail(`${what} contains a control character`, this.pos + bad.index);
    this.pos = end + 1;
    return text;
  }

  /** A decimal or `0x` hexadecimal integer with an optional `-`. */
  integer(what: string): bigint {
    const start = this.pos;
    const m = /^(-?)(?:0[xX]([0-9a-fA-F]+)|([0-9]+))/.exec(
      this.text.slice(this.pos, this.pos + 24),
    );
    if (!m) this.fail(`expected ${what} (an integer), found ${this.describeNext()}`);
    const digits = m[2] ?? m[3];
    // Anything longer cannot fit 64 bits; refusing early keeps BigInt small.
    if (digits.replace(/^0+/, "").length > (m[2] ? 16 : 20)) {
      this.fail(`${what} ${m[0]}… does not fit in 64 bits`, start);
    }
    this.pos += m[0].length;
    const magnitude = BigInt(m[2] ? "0x" + m[2] : m[3]);
    return m[1] ? -magnitude : magnitude;
  }
}
