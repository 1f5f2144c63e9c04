/**
 * The store v3 query values, read as nwaku's REST handler reads them.
 */
import assert from "node:assert/strict";
import {
  parseAscending,
  parseContentTopics,
  parseHash,
  parseHashes,
  parseIncludeData,
  parsePageSize,
  parsePeerAddr,
  parsePubsubTopic,
  parseTime,
} from "../../../protocols/waku/rest_query.ts";

const HASH = "ab".repeat(32);
const PEER = "/ip4/127.0.0.1/tcp/60001/p2p/16Uiu2HAmVFXtAfSj4EiR7mL2KvL4EE2wztuQgUSBoj2Jx2KeXFLN";

Deno.test("includeData: parseBool, else nwaku's error", () => {
  assert.equal(parseIncludeData("YES"), true);
  assert.equal(parseIncludeData("off"), false);
  assert.throws(() => parseIncludeData("maybe"), {
    message: "include data parsing error: cannot interpret as a bool: maybe",
  });
});

Deno.test("ascending: only exactly 'true' is ascending, anything else descending", () => {
  assert.equal(parseAscending("true"), true);
  for (const v of ["false", "TRUE", "1", "yes", "xyz"]) assert.equal(parseAscending(v), false, v);
});

Deno.test("topics are decoded once more; content topics split on commas, nothing trimmed", () => {
  assert.equal(parsePubsubTopic("%2Fwaku%2F2%2Frs%2F0%2F0"), "/waku/2/rs/0/0");
  assert.equal(parsePubsubTopic("/a+b"), "/a b", "nwaku reads + as a space");
  assert.equal(parsePubsubTopic(" "), " ", "a space is a topic");
  assert.deepEqual(parseContentTopics("%2Fa%2Cb"), ["/a", "b"]);
  assert.deepEqual(parseContentTopics("a,,b"), ["a", "", "b"]);
  assert.deepEqual(parseContentTopics("a, b"), ["a", " b"]);
  assert.deepEqual(parseContentTopics(" "), [" "]);
});

Deno.test("times: Nim integers; 0 or less is no bound; errors in nwaku's words", () => {
  assert.equal(parseTime("1732000000000000001"), 1732000000000000001n);
  assert.equal(parseTime("0"), undefined);
  assert.equal(parseTime("-5"), undefined);
  assert.throws(() => parseTime("soon"), { message: "time parsing error: invalid integer: soon" });
  assert.throws(() => parseTime("99999999999999999999"), {
    message: "time parsing error: Parsed integer outside of valid range",
  });
});

Deno.test("hashes: hex of 32 bytes, 0x optional, decoded once more; empty items skipped", () => {
  const bytes = new Uint8Array(32).fill(0xab);
  assert.deepEqual(parseHash(HASH), bytes);
  assert.deepEqual(parseHash(`0x${HASH.toUpperCase()}`), bytes);
  assert.deepEqual(parseHash(`0x${HASH}`.replace("0x", "%30x")), bytes, "decoded again");
  assert.equal(parseHash(""), undefined);
  assert.deepEqual(parseHashes(`0x${HASH},,${HASH},`), [bytes, bytes]);
  assert.deepEqual(parseHashes(`0x${HASH}%2C0x${HASH}`), [bytes, bytes], "an encoded comma");
  assert.throws(() => parseHash("0x1234"), {
    message: "waku message hash parsing error: invalid hash length: 2",
  });
  assert.throws(() => parseHash("0x123"), {
    message: "Exception converting hex string to bytes: hex string must have even length",
  });
  assert.throws(() => parseHash(`0x${HASH.slice(2)}zz`), {
    message: "Exception converting hex string to bytes: z is not a hexadecimal character",
  });
  assert.throws(() => parseHashes(`${HASH}, ${HASH}`), /hex string must have even length/);
});

Deno.test("pageSize: default 20 for 0 or less, at most 100, errors in nwaku's words", () => {
  assert.equal(parsePageSize("5"), 5);
  assert.equal(parsePageSize("0"), 20);
  assert.equal(parsePageSize("-3"), 20);
  assert.equal(parsePageSize("100"), 100);
  assert.equal(parsePageSize("500"), 100);
  assert.equal(parsePageSize("1_0"), 10);
  assert.throws(() => parsePageSize("ten"), {
    message: "page size parsing error: invalid integer: ten",
  });
});

Deno.test("peerAddr: decoded once more, then checked as nwaku's parseUrlPeerAddr", () => {
  assert.equal(parsePeerAddr(PEER), PEER);
  assert.equal(parsePeerAddr(encodeURIComponent(PEER)), PEER);
  assert.throws(() => parsePeerAddr("incorrect multi address format"), {
    message: "Failed parsing remote peer info: MultiAddress.init [multiaddress: Invalid " +
      "MultiAddress, must start with `/`]",
  });
  assert.throws(() => parsePeerAddr("/ip4/127.0.0.1/tcp/60001"), /p2p part should contain \//);
});
