/**
 * A stream of a head and then the bytes of another stream, pulled as the
 * reader reads: a message's framing before content streamed from the store
 * (a CAR's header, a Twirp Content's key and length), or bytes already read
 * from a body put back before the rest of it.
 *
 * @example
 * ```ts
 * const car = prefixed(carHead(cid, size), blockStream);
 * ```
 */

/** `head`, then the bytes of `rest`; a cancel reaches `rest`. */
export function prefixed(
  head: Uint8Array,
  rest: ReadableStream<Uint8Array>,
): ReadableStream<Uint8Array> {
  const reader = rest.getReader();
  let headSent = head.length === 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!headSent) {
        headSent = true;
        controller.enqueue(head);
        return;
      }
      const { value, done } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
}
