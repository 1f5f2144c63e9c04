/**
 * Base58btc (Bitcoin's alphabet), as libp2p writes peer ids. Decoding only:
 * the gateway reads peer ids, it makes none.
 */
const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const VALUES = new Map([...ALPHABET].map((c, i) => [c, BigInt(i)]));

/** Longest text decoded: a peer id is about 52 characters; more is not one. */
const MAX_CHARS = 128;

/** Decodes base58btc text; throws SyntaxError on an empty, over-long or non-base58 text. */
export function decodeBase58(text: string): Uint8Array {
  if (text.length === 0 || text.length > MAX_CHARS) {
    throw new SyntaxError(`Base58 text must have 1 to ${MAX_CHARS} characters`);
  }
  let n = 0n;
  for (const c of text) {
    const v = VALUES.get(c);
    if (v === undefined) throw new SyntaxError(`"${c}" is not a base58 character`);
    n = n * 58n + v;
  }
  const zeros = /^1*/.exec(text)![0].length; // each leading "1" is a zero byte
  const hex = n === 0n ? "" : n.toString(16);
  const body = Uint8Array.fromHex(hex.length % 2 ? "0" + hex : hex);
  const out = new Uint8Array(zeros + body.length);
  out.set(body, zeros);
  return out;
}
