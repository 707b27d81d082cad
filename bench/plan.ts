// What a run measures and for how long: the full run, or `--quick`, the short smoke run CI does.

export const quick = process.argv.includes('--quick');

/** The sections of a run; `--only forwarding,fanout` runs just those (for working on one figure). */
export const SECTIONS = ['small', 'big', 'forwarding', 'fanout', 'across-hosts'] as const;
export type Section = (typeof SECTIONS)[number];

const onlyAt = process.argv.indexOf('--only');
const only = onlyAt < 0 ? null : new Set((process.argv[onlyAt + 1] ?? '').split(','));
if (only && ![...only].every((name) => (SECTIONS as readonly string[]).includes(name))) {
  throw new Error(`--only takes a comma-separated list of ${SECTIONS.join(', ')}`);
}
export const runs = (section: Section): boolean => only === null || only.has(section);
export const partial = only !== null;

export const plan = quick
  ? { seconds: 1, warmUp: 0.5, rounds: 1, posts: 15, edits: 5, bigSaves: 3, clients: 100, fanoutPosts: 10 }
  : { seconds: 6, warmUp: 1, rounds: 3, posts: 100, edits: 30, bigSaves: 15, clients: 1000, fanoutPosts: 30 };
