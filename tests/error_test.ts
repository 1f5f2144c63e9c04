import assert from "node:assert/strict";
import { HttpError, toHttpError } from "../error.ts";
import { StorageFullError, UnavailableError } from "../lib/errors.ts";

Deno.test("toHttpError answers by meaning: full 507, failed or busy store 503, a bug 500", () => {
  const cases: [unknown, number][] = [
    [new TypeError("database or disk is full"), 507],
    [new StorageFullError("full"), 507],
    [new TypeError("database is locked"), 503],
    [new TypeError("disk I/O error"), 503],
    [new Error("attempt to write a readonly database"), 503],
    [new UnavailableError("down"), 503],
    // KV refusing a commit we built wrong is our bug, not the store's failure.
    [new TypeError("Total mutation size too large (max 819200 bytes)"), 500],
    [new RangeError("anything else"), 500],
    ["not even an error", 500],
    [new HttpError(404, "Not Found"), 404],
  ];
  for (const [thrown, status] of cases) {
    const http = toHttpError(thrown, "request id r1");
    assert.equal(http.status, status, String(thrown));
    if (status >= 500) assert.match(http.init.detail!, /request id r1/);
  }
  assert.equal(toHttpError(new TypeError("database is locked")).init.headers?.["retry-after"], "1");
});
