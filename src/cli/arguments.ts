// The command line: `balance-sync [serve] [flags]`, `balance-sync doctor [flags]`, --help, --version.
// Parsed with Node's own util.parseArgs; a flag becomes the environment variable it stands for, and
// wins over it, so that config.ts validates both the same way.

import { parseArgs } from 'node:util';
import { SETTINGS } from './settings.ts';

export type Command =
  | { command: 'serve' | 'doctor'; env: Record<string, string | undefined>; fromFlags: ReadonlySet<string> }
  | { command: 'help' }
  | { command: 'version' }
  | { command: 'usage-error'; message: string };

const COMMANDS = new Set(['serve', 'doctor']);

export function parseCommandLine(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        ...Object.fromEntries(SETTINGS.map(({ flag }) => [flag, { type: 'string' as const }])),
      },
    });
  } catch (error) {
    // parseArgs names the flag: "Unknown option '--prot'", "Option '--port <value>' argument missing".
    return { command: 'usage-error', message: (error as Error).message.replace(/\. To specify a positional.*$/s, '') };
  }
  const { values, positionals } = parsed;
  if (values.help) return { command: 'help' };
  if (values.version) return { command: 'version' };
  const [command = 'serve', ...extra] = positionals;
  if (!COMMANDS.has(command)) return { command: 'usage-error', message: `unknown command '${command}' (commands: ${[...COMMANDS].join(', ')})` };
  if (extra.length > 0) return { command: 'usage-error', message: `unexpected argument '${extra[0]}'` };

  const merged: Record<string, string | undefined> = { ...env };
  const fromFlags = new Set<string>();
  for (const { flag, env: variable } of SETTINGS) {
    const value = (values as Record<string, string | boolean | undefined>)[flag];
    if (typeof value !== 'string') continue;
    merged[variable] = value;
    fromFlags.add(variable);
  }
  return { command: command as 'serve' | 'doctor', env: merged, fromFlags };
}

/** The flag that stands for an environment variable, for messages about a value given as a flag. */
export const flagOf = (variable: string): string | undefined => SETTINGS.find((setting) => setting.env === variable)?.flag;
