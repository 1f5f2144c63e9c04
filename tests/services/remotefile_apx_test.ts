/** encodePort: a value the port refuses is an InvalidInputError on its path under `body`. */
import assert from "node:assert/strict";
import { InvalidInputError } from "../../lib/errors.ts";
import { parseDefinition } from "../../protocols/apx/definition.ts";
import { encodePort } from "../../services/remotefile_apx.ts";

Deno.test("encodePort names the field of a refused value, spaces in its name included", () => {
  const def = parseDefinition('APX/1.2\nN"N"\nP"Rec"{"a b"C(0,9)"c"S}\n');
  const port = def.providePorts[0];
  assert.throws(
    () => encodePort(port, { "a b": 10, c: 1 }, "value"),
    (e: unknown) =>
      e instanceof InvalidInputError && e.field === 'body.value["a b"]' &&
      /^must be ≤ 9/.test(e.problem),
  );
  assert.throws(
    () => encodePort(port, { "a b": 1, c: "x" }, "value"),
    (e: unknown) => e instanceof InvalidInputError && e.field === "body.value.c",
  );
  assert.equal(encodePort(port, { "a b": 9, c: 2 }, "value").data.length, 3);
});
