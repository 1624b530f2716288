/**
 * A strict reading of the JSON inside a JWS segment. `JSON.parse` keeps the last of two members
 * with the same name, so `{"amount":"10","amount":"900"}` would mean 900 to the hub while another
 * reader (or a human reading the first member) sees 10. A signed instruction must have exactly
 * one meaning, so a segment is refused when:
 * - its bytes are not well-formed UTF-8, or start with a byte order mark;
 * - it is not exactly one JSON value (RFC 8259);
 * - any object, at any depth, names a member twice. Names are compared after unescaping, so
 *   `"amount"` and `"\u0061mount"` are the same name.
 */
export type StrictJsonProblem = { problem: string };

/** Nesting deeper than this is refused: no partner instruction or token needs it, and it bounds recursion. */
export const STRICT_JSON_DEPTH_MAX = 32;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes one base64url segment of a compact JWS into its text, refusing anything but plain UTF-8. */
export function decodeSegmentText(segment: string): string | StrictJsonProblem {
  if (!/^[A-Za-z0-9_-]*$/.test(segment)) return { problem: 'not base64url' };
  const bytes = Buffer.from(segment, 'base64url');
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { problem: 'not well-formed UTF-8' };
  }
  if (text.startsWith('\uFEFF')) return { problem: 'starts with a byte order mark' };
  return text;
}

/** Null when `text` is one JSON value with no duplicate member names; otherwise what is wrong. */
export function strictJsonProblem(text: string): string | null {
  const reader = new Reader(text);
  try {
    reader.skipSpace();
    reader.value(0);
    reader.skipSpace();
    if (reader.position !== text.length) reader.fail('unexpected text after the JSON value');
    return null;
  } catch (error) {
    if (error instanceof StrictJsonError) return error.message;
    throw error;
  }
}

/** The text of a segment that passed `strictJsonProblem`, parsed; or what is wrong with it. */
export function parseStrictSegment(segment: string): unknown | StrictJsonProblem {
  const text = decodeSegmentText(segment);
  if (typeof text !== 'string') return text;
  const problem = strictJsonProblem(text);
  if (problem !== null) return { problem };
  return JSON.parse(text) as unknown;
}

export const isStrictJsonProblem = (value: unknown): value is StrictJsonProblem =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  Object.keys(value).length === 1 &&
  typeof (value as StrictJsonProblem).problem === 'string';

class StrictJsonError extends Error {}

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

class Reader {
  position = 0;
  constructor(private readonly text: string) {}

  fail(message: string): never {
    throw new StrictJsonError(`${message} at offset ${this.position}`);
  }

  skipSpace(): void {
    while (this.position < this.text.length) {
      const c = this.text[this.position];
      if (c !== ' ' && c !== '\t' && c !== '\n' && c !== '\r') return;
      this.position += 1;
    }
  }

  private expect(literal: string): void {
    if (!this.text.startsWith(literal, this.position)) this.fail(`expected ${literal}`);
    this.position += literal.length;
  }

  value(depth: number): void {
    if (depth > STRICT_JSON_DEPTH_MAX) this.fail(`nesting deeper than ${STRICT_JSON_DEPTH_MAX}`);
    const c = this.text[this.position];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') {
      this.string();
      return;
    }
    if (c === 't') return this.expect('true');
    if (c === 'f') return this.expect('false');
    if (c === 'n') return this.expect('null');
    NUMBER.lastIndex = this.position;
    const match = NUMBER.exec(this.text);
    if (!match || match[0].length === 0) this.fail('expected a JSON value');
    this.position += match[0].length;
  }

  private object(depth: number): void {
    this.position += 1;
    const names = new Set<string>();
    this.skipSpace();
    if (this.text[this.position] === '}') {
      this.position += 1;
      return;
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.position] !== '"') this.fail('expected a member name');
      const name = this.string();
      if (names.has(name)) this.fail(`duplicate member name ${JSON.stringify(name.slice(0, 64))}`);
      names.add(name);
      this.skipSpace();
      this.expect(':');
      this.skipSpace();
      this.value(depth + 1);
      this.skipSpace();
      const c = this.text[this.position];
      this.position += 1;
      if (c === '}') return;
      if (c !== ',') this.fail('expected , or }');
    }
  }

  private array(depth: number): void {
    this.position += 1;
    this.skipSpace();
    if (this.text[this.position] === ']') {
      this.position += 1;
      return;
    }
    for (;;) {
      this.skipSpace();
      this.value(depth + 1);
      this.skipSpace();
      const c = this.text[this.position];
      this.position += 1;
      if (c === ']') return;
      if (c !== ',') this.fail('expected , or ]');
    }
  }

  /** Reads a string literal and returns its value with every escape resolved. */
  private string(): string {
    this.position += 1;
    let value = '';
    for (;;) {
      if (this.position >= this.text.length) this.fail('unterminated string');
      const c = this.text[this.position]!;
      this.position += 1;
      if (c === '"') return value;
      if (c < ' ') this.fail('control character in a string');
      if (c !== '\\') {
        value += c;
        continue;
      }
      const e = this.text[this.position];
      this.position += 1;
      if (e === 'u') {
        const hex = this.text.slice(this.position, this.position + 4);
        if (!/^[0-9A-Fa-f]{4}$/.test(hex)) this.fail('bad \\u escape');
        value += String.fromCharCode(parseInt(hex, 16));
        this.position += 4;
      } else if (e !== undefined && e in ESCAPES) {
        value += ESCAPES[e];
      } else {
        this.fail('bad escape');
      }
    }
  }
}
