/**
 * Autosharding against nwaku's own vectors (tests/waku_core/topics/test_sharding.nim:
 * cluster 1, 8 shards) and its parsing errors.
 */
import assert from "node:assert/strict";
import {
  autoshard,
  parseContentTopic,
  parseStaticShard,
  shardOf,
} from "../../../protocols/waku/autosharding.ts";

const TWN = { clusterId: 1, shards: 8 };

Deno.test("nwaku's generation-0 vectors: cluster 1, 8 shards", () => {
  for (
    const [topic, shard] of [
      ["/toychat/2/huilong/proto", 3],
      ["/0/toychat/2/huilong/proto", 3],
      ["/toychat2/2/huilong/proto", 6],
      ["/0/toychat2/2/huilong/proto", 6],
      ["/toychat/2/huilong/proto2", 3],
      ["/0/toychat/2/huilong/proto2", 3],
      ["/0/toychat/4/huilong/proto2", 7],
    ] as const
  ) {
    assert.equal(autoshard(topic, TWN), `/waku/2/rs/1/${shard}`, topic);
  }
});

Deno.test("only application and version choose the shard; one shard is always shard 0", () => {
  const a = parseContentTopic("/app/1/one/proto");
  const b = parseContentTopic("/app/1/another/json");
  assert.equal(shardOf(a, 8), shardOf(b, 8));
  assert.equal(autoshard("/anything/9/x/y", { clusterId: 0, shards: 1 }), "/waku/2/rs/0/0");
});

Deno.test("content topic errors are nwaku's", () => {
  const cases: [string, string][] = [
    ["invalid", "invalid format: content-topic 'invalid' must start with slash"],
    ["//2/x/proto", "missing part: application"],
    ["/app//x/proto", "missing part: version"],
    ["/app/1//proto", "missing part: topic-name"],
    ["/app/1/x/", "missing part: encoding"],
    ["//app/1/x/proto", "missing part: generation"],
    ["/g/app/1/x/proto", "invalid format: generation should be a numeric value"],
    [
      "/a/b/c",
      "invalid format: Invalid content topic structure. Expected either " +
      "/<application>/<version>/<topic-name>/<encoding> or " +
      "/<gen>/<application>/<version>/<topic-name>/<encoding>",
    ],
  ];
  for (const [topic, message] of cases) {
    assert.throws(() => autoshard(topic, TWN), { name: "SyntaxError", message }, topic);
  }
  assert.throws(() => autoshard("/1/toychat/2/huilong/proto", TWN), {
    name: "RangeError",
    message: "Generation > 0 are not supported yet",
  });
  assert.equal(parseContentTopic("/+0/a/1/n/e").generation, 0n, "Nim's parseInt takes a sign");
});

Deno.test("static shard topics read as nwaku's parseStaticSharding, quirks kept", () => {
  assert.deepEqual(parseStaticShard("/waku/2/rs/0/0"), { clusterId: 0, shard: 0 });
  assert.deepEqual(parseStaticShard("/waku/2/rs/65535/1023"), { clusterId: 65535, shard: 1023 });
  assert.deepEqual(parseStaticShard("/waku/2/rsX1/2"), { clusterId: 1, shard: 2 }, "quirk");
  const cases: [string, string][] = [
    ["/waku/2/default-waku/proto", "invalid format: must start with /waku/2/rs"],
    ["/waku/2/rs/0", "invalid format: invalid topic structure"],
    ["/waku/2/rs/0/1/2", "invalid format: invalid topic structure"],
    ["/waku/2/rs//1", "missing part: cluster_id"],
    ["/waku/2/rs/1/", "missing part: shard_number"],
  ];
  for (const [topic, message] of cases) {
    assert.throws(() => parseStaticShard(topic), { message }, topic);
  }
  for (const bad of ["/waku/2/rs/65536/0", "/waku/2/rs/0/x", "/waku/2/rs/-1/0"]) {
    assert.throws(() => parseStaticShard(bad), SyntaxError, bad);
  }
});
