import assert from "node:assert/strict";
import { jsonArrayItems, ndjsonLines } from "../../lib/json_items.ts";
import { fuzzSeed, mutate, Rng } from "../protocols/waku/fuzz_util.ts";

/** The text cut into chunks at the given points. */
async function* chunks(text: string, cuts: number[]): AsyncGenerator<string> {
  let at = 0;
  for (const c of [...cuts, text.length]) {
    yield text.slice(at, c);
    at = c;
  }
}

async function items(text: string, cuts: number[] = []): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const item of jsonArrayItems(chunks(text, cuts))) out.push(JSON.parse(item));
  return out;
}

Deno.test("jsonArrayItems yields each top-level item, wherever the chunks are cut", async () => {
  const value = [
    { a: 'x,]}"[{', b: [1, { c: "\\\\" }] },
    "str,ing",
    12.5e3,
    [],
    {},
    null,
    true,
    [[["deep"]]],
  ];
  const text = ` \n[ ${value.map((v) => JSON.stringify(v)).join(" , ")} ] \n`;
  assert.deepEqual(await items(text), value);
  for (let cut = 0; cut <= text.length; cut++) {
    assert.deepEqual(await items(text, [cut]), value, `cut at ${cut}`);
  }
  assert.deepEqual(await items("[]"), []);
  assert.deepEqual(await items(" [ \t] "), []);
});

Deno.test("jsonArrayItems refuses what is not one JSON array", async () => {
  for (const bad of ["", "{}", "[1,]", "[,1]", "[1 2", "[1", "[1]]", "[1] x", "1", "[]]"]) {
    await assert.rejects(() => items(bad), SyntaxError, JSON.stringify(bad));
  }
});

Deno.test("fuzz jsonArrayItems: valid arrays give JSON.parse's items; mutated ones never more than a parse would", async () => {
  const seed = fuzzSeed(0x17e45);
  const rng = new Rng(seed);
  const encoder = new TextEncoder(), decoder = new TextDecoder();
  for (let n = 0; n < 2000; n++) {
    const value = Array.from({ length: rng.int(5) }, () => ({ s: rng.string(6), n: rng.int(99) }));
    let text = JSON.stringify(value, null, rng.chance(0.5) ? 1 : 0);
    if (n % 2) text = decoder.decode(mutate(rng, encoder.encode(text)));
    const cuts = [rng.int(text.length + 1)].sort((a, b) => a - b);
    let whole: unknown;
    try {
      whole = JSON.parse(text);
    } catch {
      whole = undefined;
    }
    let got: unknown[] | undefined;
    try {
      got = await items(text, cuts);
    } catch (e) {
      assert.ok(e instanceof SyntaxError, `seed ${seed} #${n}: ${e}`);
    }
    // Where the whole text is an array, the items are exactly its items.
    if (Array.isArray(whole)) assert.deepEqual(got, whole, `seed ${seed} #${n}: ${text}`);
  }
});

Deno.test("ndjsonLines yields the non-blank lines across chunks", async () => {
  const out: [number, string][] = [];
  for await (const l of ndjsonLines(chunks('{"a":1}\n\n {"b":2}\r\n{"c"', [3, 9, 12]))) {
    out.push([l.line, l.text]);
  }
  assert.deepEqual(out, [[1, '{"a":1}'], [3, ' {"b":2}\r'], [4, '{"c"']]);
});
