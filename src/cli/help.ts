// What `balance-sync --help` prints: the commands, then every setting with its flag, variable and default.

import { SETTINGS } from './settings.ts';

export function helpText(defaults: Readonly<Record<string, unknown>>): string {
  const rows = SETTINGS.map(({ flag, env, value, help }) => {
    const fallback = defaults[env];
    const shown = fallback === undefined ? 'unset' : Array.isArray(fallback) ? fallback.join(',') : String(fallback);
    return { left: `  --${flag} ${value}`, right: `${help}\n${' '.repeat(32)}(${env}; default: ${shown})` };
  });
  const width = 32;
  return [
    'balance-sync — one virtual balance, two legacy JSON files, no drift',
    '',
    'Usage:',
    '  balance-sync [serve] [options]    serve the balance (and forward the rest to --upstream)',
    '  balance-sync doctor [options]     say what start-up would decide on --data-dir, and why, changing nothing',
    '                                    (exit 0: it would start; 1: it would refuse; with --upstream and',
    '                                    --database-url, whether those answer)',
    '  balance-sync --help | --version',
    '',
    'Options (each also an environment variable; a flag wins over the variable):',
    ...rows.map(({ left, right }) => `${left.padEnd(width)}${right}`),
    '',
    'Exit codes: 0 ok; 1 refused to start (a setting in the environment is invalid, the data folder is',
    'in use, or a corrupt file is all there is); 2 bad usage (an unknown flag or a flag with a bad value).',
    '',
  ].join('\n');
}
