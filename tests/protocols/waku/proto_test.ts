/**
 * The protobuf schema wrappers: field numbers and 64-bit conversion.
 */
import assert from "node:assert/strict";
import { HistoryRPCType, toBigInt, WakuMessageType } from "../../../protocols/waku/proto.ts";

Deno.test("WakuMessage schema uses the RFC 14 field numbers and types", () => {
  const fields = Object.fromEntries(
    WakuMessageType.fieldsArray.map((f) => [f.name, [f.id, f.type]]),
  );
  assert.deepEqual(fields, {
    payload: [1, "bytes"],
    contentTopic: [2, "string"],
    version: [3, "uint32"],
    timestamp: [10, "sint64"],
    meta: [11, "bytes"],
    rateLimitProof: [21, "bytes"],
    ephemeral: [31, "bool"],
  });
});

Deno.test("HistoryRPC schema uses the store 2.0.0-beta2 field numbers", () => {
  const ids = (t: { fieldsArray: { name: string; id: number }[] }) =>
    Object.fromEntries(t.fieldsArray.map((f) => [f.name, f.id]));
  assert.deepEqual(ids(HistoryRPCType), { requestId: 1, query: 2, response: 3 });
  const query = HistoryRPCType.lookupType("HistoryQuery");
  assert.deepEqual(ids(query), { topics: 2, pagingInfo: 3 });
  assert.deepEqual(ids(HistoryRPCType.lookupType("HistoryResponse")), {
    messages: 2,
    pagingInfo: 3,
  });
  const paging = HistoryRPCType.lookupType("PagingInfo");
  assert.deepEqual(ids(paging), { pageSize: 1, cursor: 2, direction: 3 });
  assert.equal(paging.fields.pageSize.type, "int64");
  assert.deepEqual({ ...paging.lookupEnum("Direction").values }, { FORWARD: 0, BACKWARD: 1 });
  const index = HistoryRPCType.lookupType("Index");
  assert.deepEqual(ids(index), { digest: 1, receivedTime: 2 });
  assert.equal(index.fields.receivedTime.type, "float");
});

Deno.test("toBigInt: null/undefined are 0n, numbers convert", () => {
  assert.equal(toBigInt(null), 0n);
  assert.equal(toBigInt(undefined), 0n);
  assert.equal(toBigInt(0), 0n);
  assert.equal(toBigInt(42), 42n);
  assert.equal(toBigInt(-42), -42n);
});

Deno.test("toBigInt: Long-like {low, high} values, signed and unsigned", () => {
  assert.equal(toBigInt({ low: 1, high: 0 }), 1n);
  assert.equal(toBigInt({ low: -1, high: -1 }), -1n);
  assert.equal(toBigInt({ low: 0, high: 0x80000000 | 0 }), -(1n << 63n));
  assert.equal(toBigInt({ low: -1, high: 0x7fffffff }), (1n << 63n) - 1n);
  assert.equal(toBigInt({ low: -1, high: -1, unsigned: true }), (1n << 64n) - 1n);
  assert.equal(toBigInt({ low: -1, high: -1 }, false), (1n << 64n) - 1n);
  // 1732000000000000001 = 0x1809_3b4c_b8f8_0001
  const v = 1732000000000000001n;
  const low = Number(v & 0xffffffffn) | 0;
  const high = Number(v >> 32n) | 0;
  assert.equal(toBigInt({ low, high }), v);
});
