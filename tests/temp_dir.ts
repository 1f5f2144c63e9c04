/** A fresh temporary directory for a test, without the gateway (tests/helpers.ts has that). */

/** A fresh temporary directory, removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "syncgate-test-" });
  return { dir, cleanup: () => Deno.remove(dir, { recursive: true }).catch(() => {}) };
}
