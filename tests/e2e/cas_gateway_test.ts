/**
 * The CAS over real HTTP (a gateway on port 0 with a temp KV): adding,
 * the trustless gateway's formats, ETag/304, Range/206/416, HEAD, 404,
 * 400, 406, and the plain bytes at /cas/{cid}.
 */
import assert from "node:assert/strict";
import { CarReader } from "@ipld/car";
import { sha256 } from "multiformats/hashes/sha2";
import { withGateway } from "../helpers.ts";
import { addContent, cidOfBytes } from "./cas_client.ts";

const HELLO = new TextEncoder().encode("hello world\n");
const HELLO_CID = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";
const EMPTY_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
const IMMUTABLE = "public, max-age=29030400, immutable";

Deno.test("e2e CAS: POST /cas answers the CID, 201 then 200; GET /ipfs serves the raw block", async () => {
  await withGateway({}, async (gw) => {
    const first = await addContent(gw.url, HELLO);
    assert.equal(first.status, 201);
    assert.deepEqual(first.body, { cid: HELLO_CID, size: 12 });
    assert.equal(first.headers.get("location"), `/ipfs/${HELLO_CID}`);
    const again = await addContent(gw.url, HELLO);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, first.body);
    const empty = await addContent(gw.url, new Uint8Array());
    assert.deepEqual(empty.body, { cid: EMPTY_CID, size: 0 });

    for (const [query, accept] of [["?format=raw", undefined], ["", "application/vnd.ipld.raw"]]) {
      const res = await fetch(`${gw.url}/ipfs/${HELLO_CID}${query}`, {
        headers: accept ? { accept } : {},
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "application/vnd.ipld.raw");
      assert.equal(res.headers.get("etag"), `"${HELLO_CID}.raw"`);
      assert.equal(res.headers.get("cache-control"), IMMUTABLE);
      assert.equal(res.headers.get("content-length"), "12");
      assert.equal(res.headers.get("x-ipfs-roots"), HELLO_CID);
      assert.equal(res.headers.get("accept-ranges"), "bytes");
      assert.match(res.headers.get("vary") ?? "", /accept/i);
      assert.deepEqual(await res.bytes(), HELLO);
    }
    const plain = await fetch(`${gw.url}/cas/${HELLO_CID}`);
    assert.equal(plain.headers.get("content-type"), "application/octet-stream");
    assert.equal(plain.headers.get("etag"), `"${HELLO_CID}"`);
    assert.deepEqual(await plain.bytes(), HELLO);
    const none = await fetch(`${gw.url}/ipfs/${EMPTY_CID}?format=raw`);
    assert.equal(none.status, 200);
    assert.equal((await none.bytes()).length, 0);
  });
});

Deno.test("e2e CAS: ?format=car is a CARv1 of the block that @ipld/car reads and verifies", async () => {
  await withGateway({}, async (gw) => {
    await addContent(gw.url, HELLO);
    for (const [query, accept] of [["?format=car", undefined], ["", "application/vnd.ipld.car"]]) {
      const res = await fetch(`${gw.url}/ipfs/${HELLO_CID}${query}`, {
        headers: accept ? { accept } : {},
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "application/vnd.ipld.car; version=1");
      assert.equal(res.headers.get("etag"), `"${HELLO_CID}.car"`);
      assert.equal(res.headers.get("cache-control"), IMMUTABLE);
      const car = await res.bytes();
      assert.equal(res.headers.get("content-length"), String(car.length));
      const reader = await CarReader.fromBytes(car);
      assert.deepEqual((await reader.getRoots()).map(String), [HELLO_CID]);
      const block = await reader.get((await reader.getRoots())[0]);
      assert.deepEqual(block?.bytes, HELLO);
      const digest = await sha256.digest(block!.bytes);
      assert.deepEqual(digest.bytes, block!.cid.multihash.bytes, "the block hashes to its CID");
    }
  });
});

Deno.test("e2e CAS: If-None-Match → 304, Range → 206/416, HEAD has the headers and no body", async () => {
  await withGateway({}, async (gw) => {
    const bytes = crypto.getRandomValues(new Uint8Array(65_536)).slice();
    const full = new Uint8Array(200_000);
    for (let i = 0; i < full.length; i += bytes.length) {
      full.set(bytes.subarray(0, full.length - i), i);
    }
    const cid = (await addContent(gw.url, full)).body.cid as string;
    assert.equal(cid, cidOfBytes(full));
    const raw = `${gw.url}/ipfs/${cid}?format=raw`;

    const cached = await fetch(raw, { headers: { "if-none-match": `"${cid}.raw"` } });
    assert.equal(cached.status, 304);
    assert.equal(cached.headers.get("etag"), `"${cid}.raw"`);
    assert.equal(cached.headers.get("cache-control"), IMMUTABLE);
    assert.equal((await cached.bytes()).length, 0);
    const other = await fetch(raw, { headers: { "if-none-match": `"${cid}.car"` } });
    assert.equal(other.status, 200);
    await other.body?.cancel();

    const cases: [string, number, number][] = [
      ["bytes=0-99", 0, 99],
      ["bytes=61000-70000", 61_000, 70_000],
      ["bytes=199990-", 199_990, 199_999],
      ["bytes=-10", 199_990, 199_999],
    ];
    for (const [range, start, end] of cases) {
      const res = await fetch(raw, { headers: { range } });
      assert.equal(res.status, 206, range);
      assert.equal(res.headers.get("content-range"), `bytes ${start}-${end}/200000`);
      assert.equal(res.headers.get("content-length"), String(end - start + 1));
      assert.deepEqual(await res.bytes(), full.subarray(start, end + 1), range);
    }
    const ignored = await fetch(raw, { headers: { range: "bytes=0-1", "if-range": '"other"' } });
    assert.equal(ignored.status, 200, "If-Range with another ETag asks for the whole");
    await ignored.body?.cancel();
    const tooFar = await fetch(raw, { headers: { range: "bytes=200000-" } });
    assert.equal(tooFar.status, 416);
    assert.equal(tooFar.headers.get("content-range"), "bytes */200000");
    await tooFar.body?.cancel();
    const plainRange = await fetch(`${gw.url}/cas/${cid}`, { headers: { range: "bytes=5-9" } });
    assert.equal(plainRange.status, 206);
    assert.deepEqual(await plainRange.bytes(), full.subarray(5, 10));

    for (const url of [raw, `${gw.url}/ipfs/${cid}?format=car`, `${gw.url}/cas/${cid}`]) {
      const get = await fetch(url);
      const getLength = (await get.bytes()).length;
      const head = await fetch(url, { method: "HEAD" });
      assert.equal(head.status, 200, url);
      assert.equal(head.headers.get("content-length"), String(getLength), url);
      assert.equal(head.headers.get("etag"), get.headers.get("etag"));
      assert.equal(head.headers.get("content-type"), get.headers.get("content-type"));
      assert.equal((await head.bytes()).length, 0);
    }
  });
});

Deno.test("e2e CAS: 404 absent, 400 bad or foreign CIDs and formats, 406 without a format", async () => {
  await withGateway({}, async (gw) => {
    const missing = await fetch(`${gw.url}/ipfs/${HELLO_CID}?format=raw`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("content-type"), "application/problem+json");
    assert.match((await missing.json()).detail, new RegExp(HELLO_CID));
    const head = await fetch(`${gw.url}/ipfs/${HELLO_CID}?format=raw`, { method: "HEAD" });
    assert.equal(head.status, 404);
    const plain = await fetch(`${gw.url}/cas/${HELLO_CID}`);
    assert.equal(plain.status, 404);
    await plain.body?.cancel();

    const bad: [string, RegExp][] = [
      ["not-a-cid", /not a CID/],
      ["QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n", /dag-pb/],
      ["bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", /dag-pb/],
    ];
    for (const [cid, why] of bad) {
      for (const path of [`/ipfs/${cid}?format=raw`, `/cas/${cid}`]) {
        const res = await fetch(gw.url + path);
        assert.equal(res.status, 400, path);
        const problem = await res.json();
        assert.match(problem.detail, why, path);
        assert.equal(problem.errors[0].field, "path.cid");
      }
    }
    await addContent(gw.url, HELLO);
    const tar = await fetch(`${gw.url}/ipfs/${HELLO_CID}?format=tar`);
    assert.equal(tar.status, 400);
    assert.match((await tar.json()).detail, /"raw" and "car"/);
    const deserialized = await fetch(`${gw.url}/ipfs/${HELLO_CID}`, { headers: { accept: "*/*" } });
    assert.equal(deserialized.status, 406);
    assert.match((await deserialized.json()).detail, /format=raw/);
  });
});

Deno.test("e2e CAS: uploads need the API key when set, a raw media type, and stay within the limit", async () => {
  const KEY = "k".repeat(24);
  await withGateway({ SYNCGATE_API_KEY: KEY, SYNCGATE_CAS_MAX_BYTES: "1000" }, async (gw) => {
    assert.equal((await addContent(gw.url, HELLO)).status, 401);
    const auth = { authorization: `Bearer ${KEY}` };
    assert.equal((await addContent(gw.url, HELLO, auth)).status, 201);
    assert.equal(
      (await fetch(`${gw.url}/ipfs/${HELLO_CID}?format=raw`).then((r) => r.bytes())).length,
      12,
      "reads need no key",
    );
    const form = await addContent(gw.url, HELLO, { ...auth, "content-type": "text/plain" });
    assert.equal(form.status, 415);
    const declared = await addContent(gw.url, new Uint8Array(1001), auth);
    assert.equal(declared.status, 413);
    const streamed = await addContent(
      gw.url,
      ReadableStream.from([new Uint8Array(600), new Uint8Array(600)]),
      auth,
    );
    assert.equal(streamed.status, 413);
    assert.equal(
      (await fetch(`${gw.url}/ipfs/${cidOfBytes(new Uint8Array(1001))}?format=raw`)).status,
      404,
    );
    assert.equal(
      (await fetch(`${gw.url}/ipfs/${cidOfBytes(new Uint8Array(1200))}?format=raw`)).status,
      404,
    );
    const exact = await addContent(gw.url, new Uint8Array(1000), auth);
    assert.equal(exact.status, 201);
  });
});

Deno.test("e2e CAS: every CAS route is in /openapi.json", async () => {
  await withGateway({}, async (gw) => {
    const doc = await (await fetch(`${gw.url}/openapi.json`)).json();
    for (
      const path of [
        "/cas",
        "/cas/{cid}",
        "/ipfs/{cid}",
        "/twirp/vac.cas.CAS/Add",
        "/twirp/vac.cas.CAS/Get",
      ]
    ) {
      assert.ok(doc.paths[path], path);
    }
  });
});
