// Every request reduced to the origin form (a path and a query) before anything is decided on it.

/**
 * RFC 9112 §3.2.2: a server must accept the absolute form (`POST http://host/virtual_balance`) and
 * treat it as its path. Left as it is, it would not look like an own path, yet a proxy would forward
 * only its path: the legacy backend's own balance routes reached around the service, and its token.
 * A fragment is never part of a request target; it is dropped for the same reason. Null: not a target
 * this service answers.
 */
export function originForm(url: string): string | null {
  if (url.startsWith('/')) {
    const hash = url.indexOf('#');
    return hash < 0 ? url : url.slice(0, hash);
  }
  if (/^https?:\/\//i.test(url) && URL.canParse(url)) {
    const { pathname, search } = new URL(url);
    return pathname + search;
  }
  return null;
}

/**
 * The authority of an absolute-form target (`GET http://host:8001/x`), or null for the origin form.
 * RFC 9112 §3.2.2: the server then ignores the Host field and uses this instead — so that the checks
 * that judge a request by its host (421 for a rebound name, 403 for a foreign origin) judge the host
 * the request names, not a Host field sent beside it.
 */
export function authorityOf(url: string): string | null {
  return !url.startsWith('/') && /^https?:\/\//i.test(url) && URL.canParse(url) ? new URL(url).host : null;
}
