/**
 * The Accept field (RFC 9110 §12.5.1) as a list of media ranges, for the
 * routes that choose a representation by it (the trustless gateway, IPNS
 * records).
 */

/** Media ranges of an Accept field, most preferred first (q, then order); q=0 dropped. */
export function acceptList(accept: string): { type: string; params: Record<string, string> }[] {
  const out: { type: string; params: Record<string, string>; q: number; i: number }[] = [];
  accept.split(",").forEach((part, i) => {
    const [type, ...rest] = part.split(";").map((s) => s.trim());
    const params: Record<string, string> = {};
    for (const p of rest) {
      const eq = p.indexOf("=");
      if (eq > 0) params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim();
    }
    const q = params.q === undefined ? 1 : Number(params.q);
    if (type && Number.isFinite(q) && q > 0) out.push({ type: type.toLowerCase(), params, q, i });
  });
  return out.sort((a, b) => b.q - a.q || a.i - b.i);
}
