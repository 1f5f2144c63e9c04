/**
 * Which of two valid records of one name is current, as IPNS selects
 * (the `ipns` package's ipnsSelector, boxo's): the higher sequence; at an
 * equal sequence, the later validity (a republish that extends the EOL).
 * A record that wins neither way is refused with the reason, so a writer
 * learns the sequence to beat; the same record again is no change.
 *
 * @example
 * ```ts
 * select(current, incoming); // "replace" | "same" | { refused: "…" }
 * ```
 */
import type { IpnsRecordInfo } from "./record.ts";

/** What to do with an incoming record, given the current one. */
export type Selection = "replace" | "same" | { refused: string };

/** Compares an incoming record with the current one (`sameBytes`: they are byte for byte equal). */
export function select(
  current: IpnsRecordInfo,
  incoming: IpnsRecordInfo,
  sameBytes: boolean,
): Selection {
  if (sameBytes) return "same";
  if (incoming.sequence > current.sequence) return "replace";
  if (incoming.sequence < current.sequence) {
    return {
      refused: `Sequence ${incoming.sequence} is lower than the current record's ` +
        `${current.sequence}; publish a sequence above ${current.sequence}`,
    };
  }
  if (incoming.validUntilNs > current.validUntilNs) return "replace";
  return {
    refused: `Sequence ${incoming.sequence} is the current record's, and its validity ` +
      `${incoming.validity} is not later than the current ${current.validity}; publish a ` +
      `sequence above ${current.sequence}`,
  };
}
