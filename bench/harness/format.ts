/** How numbers read in the bench's tables and logs. */

/** A rate: whole with thousands separators from 100 up, else one decimal; "–" if not finite. */
export const fmtRate = (r: number): string =>
  !Number.isFinite(r) ? "–" : r >= 100 ? Math.round(r).toLocaleString("en-US") : r.toFixed(1);

/** Milliseconds: two decimals below 10, else one; "–" if missing. */
export const fmtMs = (ms?: number): string =>
  ms === undefined || !Number.isFinite(ms) ? "–" : ms < 10 ? ms.toFixed(2) : ms.toFixed(1);

/** A count: 100k, 1M when round, else with separators. */
export const fmtN = (n: number): string =>
  n >= 1e6 && n % 1e6 === 0
    ? `${n / 1e6}M`
    : n >= 1e3 && n % 1e3 === 0
    ? `${n / 1e3}k`
    : n.toLocaleString("en-US");

/** CPU cores with two decimals; "–" if missing. */
export const fmtCores = (c?: number): string =>
  c !== undefined && Number.isFinite(c) ? c.toFixed(2) : "–";

/** "1 client", "4 clients". */
export const clients = (n: number): string => `${n} client${n === 1 ? "" : "s"}`;
