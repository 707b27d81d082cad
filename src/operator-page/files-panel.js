// The files panel: each file's balance and mtime from GET /health, whether they agree, and why the
// service is not ready when it is not.

import { messageOf, request } from './api.js';
import { el } from './dom.js';
import { formatAmount, formatTime, sameAmount } from './format.js';

const mark = (ok, label) => el('span', { class: ok ? 'mark ok' : 'mark bad', role: 'img', 'aria-label': label }, ok ? '✓' : '✗');

/** `failing`: why this file cannot be written, when /health names it (it may be there, just not a file). */
function fileItem(name, file, served, failing) {
  const agrees = !failing && file?.balance !== null && sameAmount(file?.balance, served);
  return el(
    'li',
    { class: 'file' },
    el('p', { class: 'file-name' }, mark(agrees, agrees ? 'agrees' : 'differs'), ' ', el('code', { text: name })),
    el('p', { class: 'file-balance amount', text: formatAmount(file?.balance) }),
    failing
      ? el('p', { class: 'muted', text: 'cannot be written (see above)' })
      : el('p', { class: 'muted' }, 'modified ', el('time', { datetime: file?.mtime ?? undefined, text: file?.mtime ? formatTime(file.mtime) : 'never (missing)' })),
  );
}

/** What /health says keeps the service from being ready, in the words an operator acts on. */
function whyNotReady(health) {
  if (health.store?.kind === 'postgres' && health.store.reachable === false) return `the balance database cannot be reached (${health.store.error ?? 'no answer'})`;
  if (health.failing) return `${health.failing.file} cannot be written (${health.failing.error})`;
  if (health.journal && health.journal.ok === false) return `the journal ${health.journal.problem ?? 'is not whole'}`;
  return 'the balance is being recovered from disk';
}

export function filesPanel({ summary, list, onHealth }) {
  const show = (ok, text) => summary.replaceChildren(mark(ok, ok ? 'yes' : 'no'), ' ', text);

  async function refresh() {
    let result;
    try {
      result = await request('/health');
    } catch {
      show(false, 'Cannot reach the service');
      return;
    }
    const health = result.body;
    if (!health || typeof health.files !== 'object' || health.files === null) {
      show(false, `Health unavailable: ${messageOf(result)}`);
      return;
    }
    if (!health.ready) show(false, `Not ready: ${whyNotReady(health)}`);
    else if (health.files_agree) show(true, 'The files agree');
    else show(false, 'The files disagree');
    // File names are configurable: render whatever the service reports.
    list.replaceChildren(...Object.entries(health.files).map(([name, file]) => fileItem(name, file, health.balance, health.failing?.file === name)));
    onHealth?.(health);
  }

  return { refresh };
}
