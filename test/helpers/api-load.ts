// Clients changing the balance through the API, each posting `+1` deltas one after the other.

export interface DeltaLoad {
  /** Deltas answered 200: each one of them must be in the balance. */
  acked: number;
  /** Every answer that was not a 200, by status: each client gives up on none, and retries none. */
  failures: number[];
}

/** `clients` loops posting `{"delta": 1}` until `total` have been sent, or until `stop()` says so. */
export async function postDeltas(url: string, options: { clients: number; total?: number; stop?: () => boolean }): Promise<DeltaLoad> {
  const load: DeltaLoad = { acked: 0, failures: [] };
  let sent = 0;
  const more = () => (options.total === undefined || sent < options.total) && !options.stop?.();
  await Promise.all(
    Array.from({ length: options.clients }, async () => {
      while (more()) {
        sent++;
        const response = await fetch(`${url}/virtual_balance`, { method: 'POST', body: '{"delta": 1}' });
        await response.arrayBuffer();
        if (response.status === 200) load.acked++;
        else load.failures.push(response.status);
      }
    }),
  );
  return load;
}
