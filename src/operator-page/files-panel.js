// The files panel: each file's balance and mtime from GET /health, and whether they agree.

import { messageOf, request } from './api.js';
import { el } from './dom.js';
import { formatAmount, formatTime, sameAmount } from './format.js';

const mark = (ok, label) => el('span', { class: ok ? 'mark ok' : 'mark bad', role: 'img', 'aria-label': label }, ok ? '✓' : '✗');

function fileItem(name, file, served) {
  const agrees = file?.balance !== null && sameAmount(file?.balance, served);
  return el(
    'li',
    { class: 'file' },
    el('p', { class: 'file-name' }, mark(agrees, agrees ? 'agrees' : 'differs'), ' ', el('code', { text: name })),
    el('p', { class: 'file-balance amount', text: formatAmount(file?.balance) }),
    el('p', { class: 'muted' }, 'modified ', el('time', { datetime: file?.mtime ?? undefined, text: file?.mtime ? formatTime(file.mtime) : 'never (missing)' })),
  );
}

export function filesPanel({ summary, list }) {
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
    if (!health.ready) show(false, 'Not ready: the balance is being recovered from disk');
    else if (health.files_agree) show(true, 'The files agree');
    else show(false, 'The files disagree');
    // File names are configurable: render whatever the service reports.
    list.replaceChildren(...Object.entries(health.files).map(([name, file]) => fileItem(name, file, health.balance)));
  }

  return { refresh };
}
