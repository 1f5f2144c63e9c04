/**
 * The NS on a real gateway, as IPFS clients use it: delegated routing v1
 * `GET`/`PUT /routing/v1/ipns/{name}` with records made by the `ipns`
 * package, `GET /ipns/{name}` serving CAS content, and mutated records and
 * names over HTTP never answered with a 5xx.
 */
import assert from "node:assert/strict";
import { nameOf, newKey, record } from "../protocols/ns/ipns_fixtures.ts";
import { fuzzMutated, utf8 } from "../protocols/waku/fuzz_util.ts";
import { withGateway } from "../helpers.ts";
import { getRecord, IPNS, putRecord } from "./ns_client.ts";

/** A problem answer: its status and type (without the tag prefix). */
async function problem(res: Response) {
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const body = await res.json();
  return {
    status: res.status,
    type: String(body.type).replace("tag:syncgate,2026:", ""),
    detail: String(body.detail),
  };
}

Deno.test("e2e routing v1: a published record is served back byte for byte, with the spec's headers", async () => {
  await withGateway({}, async (gw) => {
    const key = await newKey();
    const name = nameOf(key);
    const bytes = await record(key, 4, { ttlNs: 120_000_000_000n });
    const put = await putRecord(gw.url, key.publicKey.toString(), bytes);
    assert.equal(put.status, 200);
    const body = await put.json();
    assert.equal(body.name, name);
    assert.equal(body.sequence, 4);
    assert.equal(body.changed, true);

    const got = await getRecord(gw.url, name);
    assert.equal(got.status, 200);
    assert.deepEqual(await got.bytes(), bytes);
    const h = got.headers;
    assert.equal(h.get("content-type"), IPNS);
    assert.match(
      h.get("cache-control")!,
      /^public, max-age=120, stale-while-revalidate=(\d+), stale-if-error=\1$/,
    );
    const stale = Number(/stale-if-error=(\d+)/.exec(h.get("cache-control")!)![1]);
    assert.ok(stale > 3400 && stale <= 3480, `validity left after max-age: ${stale}`);
    assert.ok(Math.abs(Date.parse(h.get("expires")!) - (Date.now() + 3_600_000)) < 60_000);
    assert.ok(h.get("last-modified"));
    assert.equal(h.get("vary"), "Accept");
    assert.match(h.get("etag")!, /^"[0-9a-f]{64}"$/);
    assert.equal(h.get("content-disposition"), `attachment; filename="${name}.ipns-record"`);
    // Without Accept, and with */*, the record too; If-None-Match: 304.
    assert.deepEqual(await (await fetch(`${gw.url}/routing/v1/ipns/${name}`)).bytes(), bytes);
    const same = await getRecord(gw.url, name, { "if-none-match": h.get("etag")! });
    assert.equal(same.status, 304);
    await same.body?.cancel();
    // HEAD: the same headers.
    const head = await fetch(`${gw.url}/routing/v1/ipns/${name}`, { method: "HEAD" });
    assert.equal(head.headers.get("etag"), h.get("etag"));
  });
});

Deno.test("e2e routing v1: the highest sequence wins; refusals are 4xx naming why; the record stays", async () => {
  const KEY = "k".repeat(20);
  await withGateway({ SYNCGATE_API_KEY: KEY }, async (gw) => {
    const auth = { authorization: `Bearer ${KEY}` };
    const key = await newKey();
    const name = nameOf(key);
    const six = await record(key, 6);
    assert.equal((await putRecord(gw.url, name, await record(key, 5), auth)).status, 200);
    assert.equal((await putRecord(gw.url, name, six, auth)).status, 200);
    const again = await putRecord(gw.url, name, six, auth);
    assert.equal(again.status, 200);
    assert.equal((await again.json()).changed, false);

    const forged = new Uint8Array(await record(key, 9));
    forged[forged.length - 3] ^= 0x40;
    const other = await newKey();
    const cases: [Response, number, string, RegExp][] = [
      [
        await putRecord(gw.url, name, await record(key, 5), auth),
        409,
        "about:blank",
        /lower than the current record's 6/,
      ],
      [await putRecord(gw.url, name, forged, auth), 400, "ipns-signature-invalid", /did not make/],
      [
        await putRecord(
          gw.url,
          name,
          await record(key, 9, { expiration: "2020-01-01T00:00:00Z" }),
          auth,
        ),
        400,
        "ipns-record-expired",
        /expired at 2020/,
      ],
      [
        await putRecord(gw.url, name, await record(other, 9), auth),
        400,
        "ipns-signature-invalid",
        /signatureV2/,
      ],
      [
        await putRecord(gw.url, name, utf8("not protobuf at all"), auth),
        400,
        "ipns-record-malformed",
        /record/,
      ],
      [
        await putRecord(gw.url, name, new Uint8Array(10 * 1024 + 1), auth),
        413,
        "about:blank",
        /limit is 10240/,
      ],
      [await putRecord(gw.url, "k51nope", six, auth), 400, "invalid-ipns-name", /not an IPNS name/],
      [await putRecord(gw.url, name, six), 401, "about:blank", /./],
      [
        await putRecord(gw.url, name, six, { ...auth, "content-type": "application/octet-stream" }),
        415,
        "about:blank",
        /vnd\.ipfs\.ipns-record/,
      ],
      [
        await getRecord(gw.url, name, { accept: "application/json" }),
        406,
        "about:blank",
        /Accept: application\/vnd\.ipfs\.ipns-record/,
      ],
      [await getRecord(gw.url, nameOf(other)), 404, "about:blank", /No IPNS record/],
    ];
    for (const [res, status, type, detail] of cases) {
      const p = await problem(res);
      assert.equal(p.status, status, p.detail);
      assert.equal(p.type, type, p.detail);
      assert.match(p.detail, detail);
    }
    assert.deepEqual(await (await getRecord(gw.url, name)).bytes(), six);
  });
});

Deno.test("e2e /ipns/{name}: the CAS content the record points at, cached for its TTL", async () => {
  await withGateway({}, async (gw) => {
    const content = utf8("hello from a name\n");
    const added = await fetch(`${gw.url}/cas`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: content as BodyInit,
    });
    const { cid } = await added.json();
    const key = await newKey();
    const name = nameOf(key);
    await putRecord(
      gw.url,
      name,
      await record(key, 1, { value: `/ipfs/${cid}`, ttlNs: 90_000_000_000n }),
    );
    const res = await fetch(`${gw.url}/ipns/${name}`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.bytes(), content);
    assert.equal(res.headers.get("cache-control"), "public, max-age=90");
    assert.equal(res.headers.get("content-type"), "application/octet-stream");
    assert.equal(res.headers.get("etag"), `"${cid}"`);
    assert.equal(res.headers.get("x-ipfs-path"), `/ipns/${name}`);
    const part = await fetch(`${gw.url}/ipns/${name}`, { headers: { range: "bytes=0-4" } });
    assert.equal(part.status, 206);
    assert.equal(await part.text(), "hello");
    const unchanged = await fetch(`${gw.url}/ipns/${name}`, {
      headers: { "if-none-match": `"${cid}"` },
    });
    assert.equal(unchanged.status, 304);
    await unchanged.body?.cancel();
    // No record, or a value that is not in the CAS: 404 saying so.
    assert.equal(
      (await problem(await fetch(`${gw.url}/ipns/${nameOf(await newKey())}`))).status,
      404,
    );
    await putRecord(
      gw.url,
      name,
      await record(key, 2, {
        value: "/ipfs/bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
      }),
    );
    const missing = await problem(await fetch(`${gw.url}/ipns/${name}`));
    assert.equal(missing.status, 404);
    assert.match(missing.detail, /not in this gateway's CAS/);
  });
});

Deno.test("e2e fuzz: mutated records and names over HTTP are never a 5xx", async () => {
  await withGateway({}, async (gw) => {
    const key = await newKey();
    const name = nameOf(key);
    const valid = [await record(key, 1), await record(key, 2, { v1: false })];
    const bodies: Uint8Array[] = [];
    fuzzMutated(0x1b5, 150, (rng) => rng.pick(valid), (bytes) => void bodies.push(bytes));
    const names: string[] = [];
    fuzzMutated(
      0x1b6,
      50,
      () => utf8(name),
      (bytes) => void names.push(new TextDecoder().decode(bytes)),
    );
    for (const [i, body] of bodies.entries()) {
      const target = i < names.length ? encodeURIComponent(names[i]) : name;
      const res = await putRecord(gw.url, target, body);
      const text = await res.text();
      assert.ok(res.status < 500, `PUT #${i}: ${res.status} ${text}`);
      const got = await getRecord(gw.url, target);
      await got.bytes();
      assert.ok(got.status < 500, `GET #${i}: ${got.status}`);
    }
  });
});

Deno.test("e2e: /openapi.json lists every NS route", async () => {
  await withGateway({}, async (gw) => {
    const doc = await (await fetch(`${gw.url}/openapi.json`)).json();
    assert.ok(doc.paths["/routing/v1/ipns/{name}"].get);
    assert.ok(doc.paths["/routing/v1/ipns/{name}"].put.requestBody.content[IPNS]);
    assert.ok(doc.paths["/ipns/{name}"].get);
    for (const m of ["Update", "Fetch"]) {
      const body = doc.paths[`/twirp/vac.cas.NS/${m}`].post.requestBody.content;
      assert.ok(body["application/json"] && body["application/protobuf"], m);
    }
  });
});
