/**
 * Fuzz: random and mutated bytes through record verification are accepted
 * (a mutation that kept a record valid, such as an unknown field) or
 * refused with a domain error; never anything else, which the HTTP edge
 * would answer 500.
 */
import assert from "node:assert/strict";
import { InvalidInputError, TooLargeError } from "../../../lib/errors.ts";
import { parseIpnsName } from "../../../protocols/ns/name.ts";
import { readRecord, verifyRecord } from "../../../protocols/ns/record.ts";
import { fuzzMutated, fuzzRandom } from "../waku/fuzz_util.ts";
import { nameOf, newKey, record } from "./ipns_fixtures.ts";

const refusedOnly = (e: unknown) => e instanceof InvalidInputError || e instanceof TooLargeError;

Deno.test("fuzz: mutated and random records are verified or refused, never thrown otherwise", async () => {
  const key = await newKey();
  const name = parseIpnsName(nameOf(key));
  const valid = [
    await record(key, 1),
    await record(key, 2, { v1: false }),
    await record(key, 3n << 40n),
  ];
  const inputs: { bytes: Uint8Array; label: string }[] = [];
  fuzzMutated(0xf00d, 1500, (rng) => rng.pick(valid), (bytes, seed, i) => {
    inputs.push({ bytes, label: `mutated seed ${seed} #${i}` });
  });
  fuzzRandom(0xbeef, 500, 600, (bytes, seed, i) => {
    inputs.push({ bytes, label: `random seed ${seed} #${i}` });
  });
  let accepted = 0;
  for (const { bytes, label } of inputs) {
    try {
      const info = await verifyRecord(name, bytes, { now: Date.now() });
      assert.deepEqual(readRecord(bytes), info, `${label}: readRecord agrees`);
      accepted++;
    } catch (e) {
      assert.ok(refusedOnly(e), `${label}: ${(e as Error)?.stack ?? e}`);
    }
  }
  assert.ok(accepted < inputs.length / 2, `most mutations are refused (${accepted} accepted)`);
});
