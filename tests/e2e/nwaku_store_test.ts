/**
 * GET /store/v3/messages as nwaku reads its query, through a real gateway:
 * the exact query string nwaku's REST client sends, values encoded twice,
 * Nim's booleans and integers, bounds, hashes and cursors in nwaku's hex,
 * peerAddr, and errors whose detail carries nwaku's wording.
 */
import assert from "node:assert/strict";
import { postJson, topicPath, withGateway } from "../helpers.ts";
import { nimEncodeUrl, nwakuStoreQuery, problem, type StoreParams } from "./nwaku_client.ts";

const A = "/waku/2/rs/0/0";
const B = "/waku/2/rs/0/1";
const T0 = 1_732_000_000_000_000_000n;
const PEER = "/ip4/127.0.0.1/tcp/60001/p2p/16Uiu2HAmVFXtAfSj4EiR7mL2KvL4EE2wztuQgUSBoj2Jx2KeXFLN";

/** Five messages: [pubsub topic, content topic], timestamps T0+1… in this order. */
const MESSAGES: [string, string][] = [
  [A, "/app/1/a/proto"],
  [A, "/app/1/b/proto"],
  [B, "/app/1/a/proto"],
  [A, " "],
  [A, "/app/1/a+b/proto"],
];

interface Page {
  messages: { messageHash: string; message?: { timestamp: number } }[];
  paginationCursor?: string;
}

/** Runs a gateway holding MESSAGES; `query` returns a page's answer. */
function withMessages(
  fn: (ctx: {
    hashes: string[];
    get: (qs: string) => Promise<Response>;
    page: (qs: string) => Promise<Page>;
  }) => Promise<void>,
) {
  return withGateway({}, async (gw) => {
    const hashes: string[] = [];
    for (const [i, [pubsubTopic, contentTopic]] of MESSAGES.entries()) {
      const r = await postJson(`${gw.url}/relay/v1/bulk`, [{
        payload: btoa(`m${i}`),
        contentTopic,
        pubsubTopic,
        timestamp: String(T0 + BigInt(i + 1)),
      }]);
      assert.equal(r.status, 200);
      hashes.push((r.body.messageHashes as string[])[0]);
    }
    const get = (qs: string) => fetch(`${gw.url}/store/v3/messages${qs}`);
    const page = async (qs: string) => {
      const res = await get(qs);
      const text = await res.text();
      assert.equal(res.status, 200, text);
      return JSON.parse(text) as Page;
    };
    await fn({ hashes, get, page });
  });
}

const hashesOf = (p: Page) => p.messages.map((m) => m.messageHash);
const q = (params: StoreParams = {}, twice = false) => nwakuStoreQuery(params, twice);

Deno.test("e2e nwaku store: the exact query nwaku's client sends is every message, hashes only", async () => {
  await withMessages(async ({ hashes, page }) => {
    const qs = "?peerAddr=&includeData=&pubsubTopic=&contentTopics=&startTime=&endTime=" +
      "&hashes=&cursor=&ascending=&pageSize=20";
    assert.equal(qs, q());
    const p = await page(qs);
    assert.deepEqual(hashesOf(p), hashes);
    assert.deepEqual(Object.keys(p.messages[0]), ["messageHash"], "includeData defaults false");
    assert.equal(p.paginationCursor, undefined);
    // Before nwaku PR #3602 its client sent pageSize= too.
    assert.deepEqual(hashesOf(await page(q({ pageSize: "" }))), hashes);
    const full = await page(q({ includeData: "true", pubsubTopic: B }));
    assert.deepEqual(hashesOf(full), [hashes[2]]);
    assert.equal(full.messages[0].message!.timestamp, Number(T0 + 3n));
  });
});

Deno.test("e2e nwaku store: topics, hashes and cursor encoded twice (as nwaku's tests send them) are read", async () => {
  await withMessages(async ({ hashes, page }) => {
    assert.deepEqual(
      hashesOf(await page(q({ pubsubTopic: A }, true))),
      [0, 1, 3, 4].map((i) => hashes[i]),
    );
    assert.deepEqual(
      hashesOf(await page(q({ contentTopics: "/app/1/a/proto,/app/1/b/proto" }, true))),
      [0, 1, 2].map((i) => hashes[i]),
      "the comma too was encoded twice",
    );
    assert.deepEqual(
      hashesOf(await page(q({ contentTopics: "/app/1/a+b/proto" }, true))),
      [hashes[4]],
      "a + encoded twice is a +",
    );
    assert.deepEqual(
      hashesOf(await page(`?contentTopics=${encodeURIComponent("/app/1/a+b/proto")}`)),
      [],
      "a + encoded once is a space after nwaku's second decode, as in nwaku",
    );
    assert.deepEqual(hashesOf(await page(q({ hashes: `${hashes[1]},${hashes[3]}` }, true))), [
      hashes[1],
      hashes[3],
    ]);
    const first = await page(q({ pageSize: "2" }));
    assert.deepEqual(
      hashesOf(await page(q({ cursor: first.paginationCursor, pageSize: "2" }, true))),
      [
        hashes[2],
        hashes[3],
      ],
    );
  });
});

Deno.test("e2e nwaku store: includeData as Nim's parseBool, else 400 with nwaku's words", async () => {
  await withMessages(async ({ page, get }) => {
    for (const yes of ["true", "yes", "1", "On", "Y"]) {
      assert.ok((await page(q({ includeData: yes }))).messages[0].message, yes);
    }
    for (const no of ["false", "no", "0", "OFF"]) {
      assert.equal((await page(q({ includeData: no }))).messages[0].message, undefined, no);
    }
    const bad = await problem(await get(q({ includeData: "maybe" })), 400);
    assert.match(
      bad.detail as string,
      /include data parsing error: cannot interpret as a bool: maybe/,
    );
    assert.deepEqual((bad.errors as { field: string }[]).map((e) => e.field), [
      "query.includeData",
    ]);
  });
});

Deno.test("e2e nwaku store: ascending is forward only for exactly 'true'", async () => {
  await withMessages(async ({ hashes, page }) => {
    const firstTwo = [hashes[0], hashes[1]];
    const lastTwo = [hashes[3], hashes[4]];
    assert.deepEqual(hashesOf(await page(q({ ascending: "true", pageSize: "2" }))), firstTwo);
    assert.deepEqual(hashesOf(await page(q({ ascending: "", pageSize: "2" }))), firstTwo);
    for (const other of ["false", "TRUE", "1", "maybe"]) {
      assert.deepEqual(
        hashesOf(await page(q({ ascending: other, pageSize: "2" }))),
        lastTwo,
        other,
      );
    }
  });
});

Deno.test("e2e nwaku store: times ≤ 0 are no bound; startTime after endTime is an empty 200", async () => {
  await withMessages(async ({ hashes, page, get }) => {
    for (const t of ["0", "-1", "-9223372036854775808"]) {
      assert.equal((await page(q({ startTime: t, endTime: t }))).messages.length, 5, t);
    }
    const range = q({ startTime: String(T0 + 2n), endTime: String(T0 + 3n) });
    assert.deepEqual(hashesOf(await page(range)), [hashes[1], hashes[2]], "inclusive");
    assert.deepEqual(hashesOf(await page(q({ startTime: "+" + String(T0 + 5n) }))), [hashes[4]]);
    const inverted = await page(q({ startTime: String(T0 + 4n), endTime: String(T0 + 2n) }));
    assert.deepEqual(inverted.messages, []);
    assert.equal(inverted.paginationCursor, undefined);
    const bad = await problem(await get(q({ startTime: "soon" })), 400);
    assert.match(bad.detail as string, /time parsing error: invalid integer: soon/);
    const big = await problem(await get(q({ endTime: "99999999999999999999" })), 400);
    assert.match(big.detail as string, /time parsing error: Parsed integer outside of valid range/);
  });
});

Deno.test("e2e nwaku store: pageSize defaults to 20 (also for 0 or less) and is clamped to 100", async () => {
  await withGateway({}, async (gw) => {
    const items = Array.from({ length: 130 }, (_, i) => ({
      payload: btoa(`p${i}`),
      contentTopic: "/app/1/p/proto",
      timestamp: String(T0 + BigInt(i)),
    }));
    assert.equal(
      (await postJson(`${gw.url}/relay/v1/bulk?pubsubTopic=${topicPath(A)}`, items)).status,
      200,
    );
    const count = async (pageSize: string) => {
      const body = await (await fetch(`${gw.url}/store/v3/messages${q({ pageSize })}`)).json();
      return body.messages.length;
    };
    assert.equal(await count(""), 20);
    assert.equal(await count("0"), 20);
    assert.equal(await count("-5"), 20);
    assert.equal(await count("7"), 7);
    assert.equal(await count("500"), 100);
    const bad = await problem(
      await fetch(`${gw.url}/store/v3/messages${q({ pageSize: "x" })}`),
      400,
    );
    assert.match(bad.detail as string, /page size parsing error: invalid integer: x/);
  });
});

Deno.test("e2e nwaku store: a blank content topic is a topic; empty list items stay; repeats join", async () => {
  await withMessages(async ({ hashes, page, get }) => {
    assert.deepEqual(hashesOf(await page(q({ contentTopics: " " }))), [hashes[3]], "a space");
    assert.deepEqual(hashesOf(await page(q({ contentTopics: "," }))), [], "two empty topics");
    assert.deepEqual(hashesOf(await page(q({ contentTopics: "/app/1/b/proto,, " }))), [
      hashes[1],
      hashes[3],
    ]);
    assert.deepEqual(
      hashesOf(await page("?contentTopics=/app/1/a/proto&contentTopics=/app/1/b/proto")),
      [0, 1, 2].map((i) => hashes[i]),
      "a repeated list parameter is joined with a comma, as nwaku joins it",
    );
    assert.deepEqual(hashesOf(await page(`?hashes=${hashes[0]}&hashes=${hashes[4]}`)), [
      hashes[0],
      hashes[4],
    ]);
    const twice = await problem(await get(`?pubsubTopic=${topicPath(A)}&pubsubTopic=x`), 400);
    assert.match(twice.detail as string, /query\.pubsubTopic: is given more than once/);
    const many = Array.from({ length: 11 }, (_, i) => `/t${i}`).join(",");
    assert.match(
      (await problem(await get(q({ contentTopics: many })), 400)).detail as string,
      /too many content topics/,
    );
  });
});

Deno.test("e2e nwaku store: hashes and cursor in nwaku's hex; errors in its words", async () => {
  await withMessages(async ({ hashes, page, get }) => {
    const bare = hashes[2].slice(2);
    assert.deepEqual(hashesOf(await page(q({ hashes: bare }))), [hashes[2]], "without 0x");
    assert.deepEqual(hashesOf(await page(q({ hashes: `0X${bare.toUpperCase()},` }))), [hashes[2]]);
    const walked: string[] = [];
    for (let cursor = ""; walked.length < 5;) {
      const p = await page(q({ pageSize: "2", cursor: cursor.slice(2) }));
      walked.push(...hashesOf(p));
      if (!p.paginationCursor) break;
      cursor = p.paginationCursor;
    }
    assert.deepEqual(walked, hashes, "cursors without 0x page through");
    const detail = async (params: StoreParams) =>
      (await problem(await get(q(params)), 400)).detail as string;
    assert.match(
      await detail({ hashes: "0x1234" }),
      /waku message hash parsing error: invalid hash length: 2/,
    );
    assert.match(
      await detail({ cursor: "0x123" }),
      /Exception converting hex string to bytes: hex string must have even length/,
    );
    assert.match(
      await detail({ cursor: "zz".repeat(32) }),
      /Exception converting hex string to bytes: z is not a hexadecimal character/,
    );
    assert.match(
      await detail({ cursor: "00".repeat(32) }),
      /INVALID_QUERY: all zeroes cursor hash/,
    );
    const unknown = await problem(await get(q({ cursor: "ab".repeat(32) })), 400);
    assert.equal(unknown.title, "Unknown cursor");
    assert.match(unknown.detail as string, /cursor not found/);
  });
});

Deno.test("e2e nwaku store: a valid peerAddr is answered from this store; another is nwaku's 400", async () => {
  await withMessages(async ({ hashes, page, get }) => {
    assert.deepEqual(hashesOf(await page(q({ peerAddr: PEER }))), hashes);
    assert.deepEqual(hashesOf(await page(q({ peerAddr: PEER }, true))), hashes, "encoded twice");
    const bad = await problem(
      await get(q({ peerAddr: "incorrect multi address format" }, true)),
      400,
    );
    assert.match(
      bad.detail as string,
      /Failed parsing remote peer info: MultiAddress\.init \[multiaddress: Invalid MultiAddress, must start with `\/`\]/,
    );
    const noPeerId = await problem(await get(q({ peerAddr: "/ip4/127.0.0.1/tcp/60001" })), 400);
    assert.match(noPeerId.detail as string, /p2p part should contain \//);
  });
});

Deno.test("e2e nwaku store: parameter names in any case, as nwaku's server lower-cases them", async () => {
  await withMessages(async ({ hashes, page }) => {
    const p = await page(`?PUBSUBTOPIC=${nimEncodeUrl(B)}&includedata=true&PageSize=1`);
    assert.deepEqual(hashesOf(p), [hashes[2]]);
    assert.ok(p.messages[0].message);
  });
});
