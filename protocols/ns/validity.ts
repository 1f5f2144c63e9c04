/**
 * The EOL validity of an IPNS record: an RFC 3339 date-time with up to
 * nanoseconds (`2026-12-02T05:00:00.123456789Z`), read strictly. Anything
 * else is refused rather than guessed at: a date that parses as NaN would
 * never count as expired.
 *
 * @example
 * ```ts
 * parseValidity("1970-01-01T00:00:00.000000001Z"); // 1n
 * ```
 */

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Nanoseconds since the Unix epoch of an RFC 3339 date-time; SyntaxError for anything else. */
export function parseValidity(text: string): bigint {
  const m = RFC3339.exec(text);
  if (!m) throw new SyntaxError(`"${text.slice(0, 64)}" is not an RFC 3339 date-time`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day); // not Date.UTC, which reads years below 100 as 19xx
  d.setUTCHours(hour, minute, second, 0);
  // Out-of-range parts roll over (31 April is 1 May): a date that moved was not a date.
  if (
    d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day || hour > 23 || minute > 59 ||
    second > 59
  ) {
    throw new SyntaxError(`"${text}" is not a valid date and time`);
  }
  const [sign, offsetHours, offsetMinutes] = [m[9], Number(m[10] ?? 0), Number(m[11] ?? 0)];
  if (offsetHours > 23 || offsetMinutes > 59) {
    throw new SyntaxError(`"${text}" has an invalid time zone offset`);
  }
  const offsetMs = (sign === "-" ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  const utcMs = d.getTime() - offsetMs;
  const fraction = BigInt((m[7] ?? "").padEnd(9, "0"));
  return BigInt(utcMs) * 1_000_000n + fraction;
}
