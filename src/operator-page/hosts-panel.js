// The hosts panel (with DATABASE_URL): every host of the account seen in the last minute, the
// revision its files hold, and how far behind the database it is. Hidden with the files alone.

import { el } from './dom.js';
import { formatTime } from './format.js';

function hostItem({ host_id, revision, lag, seen_at }) {
  const behind = lag > 0;
  return el(
    'li',
    { class: 'file' },
    el('p', { class: 'file-name' }, el('span', { class: behind ? 'mark bad' : 'mark ok', role: 'img', 'aria-label': behind ? 'behind' : 'current' }, behind ? '…' : '✓'), ' ', el('code', { text: host_id })),
    el('p', { text: `revision ${revision}${behind ? ` · ${lag} behind` : ''}` }),
    el('p', { class: 'muted' }, 'seen ', el('time', { datetime: seen_at, text: formatTime(seen_at) })),
  );
}

export function hostsPanel({ section, summary, list }) {
  return {
    show(health) {
      const hosts = Array.isArray(health.hosts) ? health.hosts : null;
      section.hidden = hosts === null;
      if (!hosts) return;
      const reachable = health.store?.reachable !== false;
      summary.textContent = reachable ? `${hosts.length} host${hosts.length === 1 ? '' : 's'} seen in the last minute` : 'The balance database cannot be reached';
      list.replaceChildren(...hosts.map(hostItem));
    },
  };
}
