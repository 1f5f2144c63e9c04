import assert from "node:assert/strict";
import { backoffDelay } from "../../lib/backoff.ts";

Deno.test("backoffDelay grows exponentially up to the cap, with full jitter", () => {
  const opts = { baseMs: 100, maxMs: 5000 };
  assert.equal(backoffDelay(0, opts, () => 0.999), 99);
  assert.equal(backoffDelay(3, opts, () => 0.5), 400);
  assert.equal(backoffDelay(10, opts, () => 0.5), 2500);
  assert.equal(backoffDelay(1000, opts, () => 0.999), 4995);
  assert.equal(backoffDelay(5, opts, () => 0), 0);
});
