import assert from "node:assert/strict";
import { utf8Length } from "../../services/live_subscriber.ts";

Deno.test("utf8Length counts what TextEncoder writes", () => {
  const samples = [
    "",
    "plain ascii",
    "é",
    "ü€",
    "𝄞 clef",
    "a\u{10FFFF}b",
    "\ud800 lone",
    "x\udc00",
  ];
  for (const s of samples) {
    assert.equal(utf8Length(s), new TextEncoder().encode(s).length, JSON.stringify(s));
  }
});
