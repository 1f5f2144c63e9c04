/** HTTP calls of the NS's routing v1 API, for the e2e tests. */

export const IPNS = "application/vnd.ipfs.ipns-record";

/** `PUT /routing/v1/ipns/{name}` of a record. */
export function putRecord(
  url: string,
  name: string,
  body: Uint8Array,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${url}/routing/v1/ipns/${name}`, {
    method: "PUT",
    headers: { "content-type": IPNS, ...headers },
    body: body as BodyInit,
  });
}

/** `GET /routing/v1/ipns/{name}`, asking for a record. */
export function getRecord(
  url: string,
  name: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${url}/routing/v1/ipns/${name}`, { headers: { accept: IPNS, ...headers } });
}
