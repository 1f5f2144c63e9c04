import assert from "node:assert/strict";
import { describeError, failureLogger, type Logger } from "../../lib/log.ts";

Deno.test("describeError writes the chain of causes", () => {
  const e = new Error("outer", { cause: new TypeError("inner", { cause: "root" }) });
  assert.equal(describeError(e), "Error: outer; caused by TypeError: inner; caused by root");
});

Deno.test("failureLogger writes a repeated failure once per quiet period, a new one at once", () => {
  const lines: unknown[] = [];
  const nop = () => {};
  const log: Logger = {
    debug: nop,
    info: nop,
    warn: nop,
    error: (_m, f) => lines.push(f?.error),
    enabled: () => true,
  };
  const report = failureLogger(log, "task failed", 60_000);
  const full = new Error("full");
  for (let i = 0; i < 5; i++) report(full);
  assert.equal(lines.length, 1);
  report(new Error("locked"));
  report(new Error("locked"));
  report(new Error("full"));
  assert.equal(lines.length, 3);
});
