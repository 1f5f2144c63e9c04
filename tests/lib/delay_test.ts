import assert from "node:assert/strict";
import { abortable, deadline, delay } from "../../lib/delay.ts";

/** Counts the abort listeners a signal holds, through its own methods. */
function counted(signal: AbortSignal): { signal: AbortSignal; held: () => number } {
  let held = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (...args: Parameters<typeof add>) => (held++, add(...args));
  signal.removeEventListener = (...args: Parameters<typeof remove>) => (held--, remove(...args));
  return { signal, held: () => held };
}

Deno.test("delay, abortable and deadline leave no listener on a long-lived signal", async () => {
  const parent = new AbortController();
  const { signal, held } = counted(parent.signal);
  for (let i = 0; i < 20; i++) {
    await delay(0, { signal });
    await abortable(Promise.resolve(i), signal);
    using step = deadline(1000, signal, () => new Error("late"));
    assert.equal(step.signal.aborted, false);
  }
  assert.equal(held(), 0);
});

Deno.test("delay and abortable reject with the signal's reason; a late value is handed over", async () => {
  const stop = new AbortController();
  const waiting = delay(60_000, { signal: stop.signal });
  let resolveLate!: (v: string) => void;
  const late: string[] = [];
  const racing = abortable(new Promise<string>((r) => resolveLate = r), stop.signal, (v) => {
    late.push(v);
  });
  stop.abort(new Error("stopping"));
  await assert.rejects(waiting, /stopping/);
  await assert.rejects(racing, /stopping/);
  resolveLate("conn");
  await Promise.resolve();
  assert.deepEqual(late, ["conn"]);
  await assert.rejects(delay(1, { signal: stop.signal }), /stopping/);
});

Deno.test("deadline aborts with its own reason, or the parent's", async () => {
  {
    using step = deadline(5, undefined, () => new Error("Timed out after 5 ms"));
    await new Promise((r) => step.signal.addEventListener("abort", r));
    assert.equal(step.signal.reason.message, "Timed out after 5 ms");
  }
  const parent = new AbortController();
  using step = deadline(Infinity, parent.signal, () => new Error("never"));
  parent.abort(new Error("parent stopped"));
  assert.equal(step.signal.reason.message, "parent stopped");
});
