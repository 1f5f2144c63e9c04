import assert from "node:assert/strict";
import { parseValue } from "../../../protocols/ns/value.ts";

Deno.test("parseValue splits /ipfs and /ipns paths; anything else is other", () => {
  assert.deepEqual(parseValue("/ipfs/bafkrei"), { kind: "ipfs", root: "bafkrei", rest: "" });
  assert.deepEqual(parseValue("/ipfs/bafkrei/"), { kind: "ipfs", root: "bafkrei", rest: "" });
  assert.deepEqual(parseValue("/ipfs/bafy/a/b.txt"), {
    kind: "ipfs",
    root: "bafy",
    rest: "/a/b.txt",
  });
  assert.deepEqual(parseValue("/ipns/k51/x"), { kind: "ipns", root: "k51", rest: "/x" });
  for (const other of ["/ipfs/", "/ipfs", "/ipld/bafy", "/", "ipfs/bafy"]) {
    assert.deepEqual(parseValue(other), { kind: "other", path: other });
  }
});
