/**
 * The spec's NS service over Twirp on a real gateway: Update publishes an
 * IPNS record (protobuf and JSON), Fetch answers the content its name
 * resolves to, and every failure is Twirp error JSON with Twirp's status.
 */
import assert from "node:assert/strict";
import { ContentType } from "../../protocols/cas/proto.ts";
import { decodeResponse, encodeNameUpdate, encodeQuery } from "../../protocols/ns/proto.ts";
import { withGateway } from "../helpers.ts";
import { nameOf, newKey, record } from "../protocols/ns/ipns_fixtures.ts";
import { utf8 } from "../protocols/waku/fuzz_util.ts";

const PB = "application/protobuf";
const JSON_TYPE = "application/json";

function twirp(
  url: string,
  method: string,
  body: string | Uint8Array,
  type: string,
  headers: Record<string, string> = {},
) {
  return fetch(`${url}/twirp/vac.cas.NS/${method}`, {
    method: "POST",
    headers: { "content-type": type, ...headers },
    body: body as BodyInit,
  });
}

/** Adds content to the CAS; its CID. */
async function addContent(
  url: string,
  content: Uint8Array,
  headers: Record<string, string> = {},
): Promise<string> {
  const res = await fetch(`${url}/cas`, {
    method: "POST",
    headers: { "content-type": "application/octet-stream", ...headers },
    body: content as BodyInit,
  });
  return (await res.json()).cid;
}

Deno.test("e2e Twirp NS: Update then Fetch round trip, in protobuf and in JSON", async () => {
  await withGateway({}, async (gw) => {
    const key = await newKey();
    const name = nameOf(key);
    const content = utf8("a remote log, say");
    const cid = await addContent(gw.url, content);

    for (const type of [PB, "application/x-protobuf"]) {
      const seq = type === PB ? 1 : 2;
      const rec = await record(key, seq, { value: `/ipfs/${cid}` });
      const updated = await twirp(gw.url, "Update", encodeNameUpdate({ name, content: rec }), type);
      assert.equal(updated.status, 200);
      assert.equal(updated.headers.get("content-type"), type);
      assert.deepEqual(decodeResponse(await updated.bytes()), new Uint8Array());
      const fetched = await twirp(gw.url, "Fetch", encodeQuery(name), type);
      assert.equal(fetched.status, 200);
      const bytes = await fetched.bytes();
      assert.equal(fetched.headers.get("content-length"), String(bytes.length));
      assert.deepEqual(
        (ContentType.decode(bytes) as unknown as { data: Uint8Array }).data,
        content,
      );
    }

    const rec = await record(key, 3, { value: `/ipfs/${cid}` });
    const updated = await twirp(
      gw.url,
      "Update",
      JSON.stringify({ name, content: rec.toBase64() }),
      JSON_TYPE,
    );
    assert.equal(updated.status, 200);
    assert.deepEqual(await updated.json(), { data: "" });
    const fetched = await twirp(
      gw.url,
      "Fetch",
      JSON.stringify({ name: key.publicKey.toString() }),
      JSON_TYPE,
    );
    assert.deepEqual(await fetched.json(), { data: content.toBase64() });
    // The same record over routing v1.
    const got = await fetch(`${gw.url}/routing/v1/ipns/${name}`);
    assert.deepEqual(await got.bytes(), rec);
  });
});

Deno.test("e2e Twirp NS: failures are Twirp error JSON with Twirp's statuses", async () => {
  const KEY = "n".repeat(20);
  await withGateway({ SYNCGATE_API_KEY: KEY }, async (gw) => {
    const auth = { authorization: `Bearer ${KEY}` };
    const key = await newKey();
    const name = nameOf(key);
    const cid = await addContent(gw.url, utf8("x"), auth);
    const five = await record(key, 5, { value: `/ipfs/${cid}` });
    const update = (content: Uint8Array, n = name) => encodeNameUpdate({ name: n, content });
    assert.equal((await twirp(gw.url, "Update", update(five), PB, auth)).status, 200);
    const forged = new Uint8Array(five);
    forged[forged.length - 2] ^= 1;
    const cases: [Promise<Response>, number, string, RegExp?][] = [
      [
        twirp(gw.url, "Update", update(await record(key, 4), name), PB, auth),
        409,
        "aborted",
        /lower than the current record's 5/,
      ],
      [twirp(gw.url, "Update", update(forged), PB, auth), 400, "invalid_argument", /signatureV2/],
      [
        twirp(gw.url, "Update", update(five, "k51nope"), PB, auth),
        400,
        "invalid_argument",
        /not an IPNS name/,
      ],
      [
        twirp(gw.url, "Update", update(new Uint8Array(10 * 1024 + 1)), PB, auth),
        400,
        "invalid_argument",
        /limit is 10240/,
      ],
      [twirp(gw.url, "Update", new Uint8Array([0x12, 0x09, 1]), PB, auth), 400, "malformed"],
      [twirp(gw.url, "Update", "{", JSON_TYPE, auth), 400, "malformed"],
      [
        twirp(gw.url, "Update", JSON.stringify({ name, content: "%%" }), JSON_TYPE, auth),
        400,
        "invalid_argument",
        /base64/,
      ],
      [twirp(gw.url, "Update", update(five), PB), 401, "unauthenticated"],
      [twirp(gw.url, "Update", update(five), "text/plain", auth), 404, "bad_route"],
      [
        twirp(gw.url, "Fetch", encodeQuery(nameOf(await newKey())), PB),
        404,
        "not_found",
        /No IPNS record/,
      ],
      [
        twirp(gw.url, "Fetch", JSON.stringify({ name: "" }), JSON_TYPE),
        400,
        "invalid_argument",
        /not an IPNS name/,
      ],
      [twirp(gw.url, "Nope", encodeQuery(name), PB), 404, "bad_route"],
      [fetch(`${gw.url}/twirp/vac.cas.NS/Fetch`), 404, "bad_route"],
    ];
    for (const [pending, status, code, msg] of cases) {
      const res = await pending;
      assert.equal(res.headers.get("content-type"), "application/json");
      const body = await res.json();
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(body.code, code, JSON.stringify(body));
      if (msg) assert.match(body.msg, msg);
    }
    // Fetch needs no key; the record stayed.
    const fetched = await twirp(gw.url, "Fetch", encodeQuery(name), PB);
    assert.equal(fetched.status, 200);
    await fetched.body?.cancel();
  });
});
