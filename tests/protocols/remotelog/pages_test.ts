import assert from "node:assert/strict";
import { appendPair, type LogMode, pairsAfter } from "../../../protocols/remotelog/pages.ts";
import type { Pair, RemoteLog } from "../../../protocols/remotelog/remote_log.ts";

const pair = (i: number): Pair => ({
  remoteHash: new Uint8Array([0xc0, i]),
  localHash: new Uint8Array([i]),
});
const addr = (page: RemoteLog) =>
  new Uint8Array([0xad, page.pairs.length, ...page.pairs[0].localHash]);

/** Appends n pairs in a mode; returns every page written (last = head) and the store by address. */
function grow(mode: LogMode, pageSize: number, n: number) {
  const store = new Map<string, RemoteLog>();
  let head: { page: RemoteLog; address: Uint8Array } | undefined;
  for (let i = 1; i <= n; i++) {
    const page = appendPair(mode, pageSize, head, pair(i));
    head = { page, address: addr(page) };
    store.set(head.address.toHex(), page);
  }
  return { head: head!, store };
}

async function* walk(head: RemoteLog, store: Map<string, RemoteLog>) {
  for (let page: RemoteLog | undefined = head; page;) {
    yield page;
    page = page.tail.length ? store.get(page.tail.toHex()) : undefined;
  }
}

Deno.test("pages: full mode is one page of every pair, newest first, no tail", () => {
  const { head } = grow("full", 0, 5);
  assert.deepEqual(head.page.pairs.map((p) => p.localHash[0]), [5, 4, 3, 2, 1]);
  assert.equal(head.page.tail.length, 0);
});

Deno.test("pages: paged mode fills the head to pageSize, then starts a page whose tail is the old head", async () => {
  const { head, store } = grow("paged", 3, 7);
  assert.deepEqual(head.page.pairs.map((p) => p.localHash[0]), [7]);
  const pages = [];
  for await (const p of walk(head.page, store)) pages.push(p.pairs.map((x) => x.localHash[0]));
  assert.deepEqual(pages, [[7], [6, 5, 4], [3, 2, 1]]);
});

Deno.test("pages: linked mode is a page per pair", async () => {
  const { head, store } = grow("linked", 100, 4);
  const pages = [];
  for await (const p of walk(head.page, store)) pages.push(p.pairs.map((x) => x.localHash[0]));
  assert.deepEqual(pages, [[4], [3], [2], [1]]);
});

Deno.test("pages: a walk returns the pairs after `after`, oldest first, limited, in every mode", async () => {
  for (const mode of ["full", "paged", "linked"] as const) {
    const { head, store } = grow(mode, 3, 10);
    const all = await pairsAfter(walk(head.page, store), undefined, 100);
    assert.deepEqual(all.pairs.map((p) => p.localHash[0]), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], mode);
    const after4 = await pairsAfter(walk(head.page, store), new Uint8Array([4]), 3);
    assert.deepEqual(after4.pairs.map((p) => p.localHash[0]), [5, 6, 7], mode);
    assert.equal(after4.more, true);
    assert.equal(after4.foundAfter, true);
    const atEnd = await pairsAfter(walk(head.page, store), new Uint8Array([10]), 3);
    assert.deepEqual(atEnd, { pairs: [], more: false, foundAfter: true }, mode);
    const unknown = await pairsAfter(walk(head.page, store), new Uint8Array([99]), 2);
    assert.equal(unknown.foundAfter, false);
  }
});
