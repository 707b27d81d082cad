// Waiting for something a user can observe, with a deadline instead of a fixed sleep.

export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 2_000, what = 'condition'): Promise<{ value: T; elapsedMs: number }> {
  const started = performance.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return { value, elapsedMs: performance.now() - started };
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
