import assert from "node:assert/strict";
import { parseValidity } from "../../../protocols/ns/validity.ts";

Deno.test("parseValidity reads RFC 3339 to the nanosecond, offsets included", () => {
  assert.equal(parseValidity("1970-01-01T00:00:00.000000001Z"), 1n);
  assert.equal(parseValidity("1970-01-01T00:00:01Z"), 1_000_000_000n);
  assert.equal(parseValidity("1970-01-01T01:00:00.5+01:00"), 500_000_000n);
  assert.equal(parseValidity("1969-12-31T23:00:00-01:00"), 0n);
  const iso = "2026-12-02T05:00:00.123Z";
  assert.equal(parseValidity(iso), BigInt(Date.parse(iso)) * 1_000_000n);
  assert.equal(
    parseValidity("2024-02-29t12:00:00z"),
    BigInt(Date.parse("2024-02-29T12:00:00Z")) * 1_000_000n,
  );
  // Years below 100 are years below 100, not 19xx.
  assert.equal(
    parseValidity("0050-01-01T00:00:00Z"),
    BigInt(new Date("0050-01-01T00:00:00Z").getTime()) * 1_000_000n,
  );
});

Deno.test("parseValidity refuses what is no date-time (a NaN date would never expire)", () => {
  for (
    const bad of [
      "",
      "tomorrow",
      "2026-12-02",
      "2026-12-02T05:00:00",
      "2026-12-02 05:00:00Z",
      "2026-02-30T00:00:00Z",
      "2026-13-01T00:00:00Z",
      "2026-12-02T24:00:00Z",
      "2026-12-02T05:60:00Z",
      "2026-12-02T05:00:60Z",
      "2026-12-02T05:00:00.1234567890Z",
      "2026-12-02T05:00:00+25:00",
      "2026-12-02T05:00:00Z ",
      "+02026-12-02T05:00:00Z",
    ]
  ) {
    assert.throws(() => parseValidity(bad), SyntaxError, bad);
  }
});
