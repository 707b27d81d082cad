// Talking to the service: JSON read with exact amounts, and failures turned into a message.

const AMOUNT_KEYS = new Set(['balance', 'previous', 'delta']);

/**
 * JSON.parse that keeps amounts as their source text ("1000000000000.12345678"), which a double
 * cannot hold. Browsers without JSON source access fall back to the shortest round-trip text.
 */
export function parseExact(text) {
  return JSON.parse(text, (key, value, context) =>
    AMOUNT_KEYS.has(key) && typeof value === 'number' ? (context?.source ?? String(value)) : value,
  );
}

/** Resolves with `{ status, body, headers }` for any HTTP answer; rejects only when the service is unreachable. */
export async function request(path, { method = 'GET', body, headers = {} } = {}) {
  const init = { method, cache: 'no-store', headers: { Accept: 'application/json', ...headers } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? parseExact(text) : null;
  } catch {
    // Not JSON (a proxy's error page, say): the status alone will have to do.
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

/** The API's own words for a failed request, or the status when it gave none. */
export const messageOf = ({ status, body }) =>
  typeof body?.message === 'string' && body.message ? body.message : `the service answered ${status}`;
