// Putting a new version of a file in place without unlinking, unseen, a version another process
// renamed into place an instant before. A plain rename(2) cannot: between the last check of what is in
// place and the rename, a legacy writer's os.replace() may land, and the rename unlinks its version
// with nothing left to read it from. renameat2(2) can: RENAME_EXCHANGE swaps the two names
// atomically, so whatever was in place ends up under the temp name, to be looked at; RENAME_NOREPLACE
// refuses to put a file where one appeared. Linux has it (3.15+; ext4, xfs, btrfs, tmpfs, …); Node
// does not expose it, so it is called in libc through koffi (prebuilt, no compiler). Elsewhere —
// another system, a C library or file system without it — a plain rename, as before.

import { renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';

const AT_FDCWD = -100;
const RENAME_NOREPLACE = 1;
const RENAME_EXCHANGE = 2;

interface Libc {
  renameat2(olddirfd: number, oldpath: string, newdirfd: number, newpath: string, flags: number): number;
  errno(): number;
}

let libc: Libc | null | undefined;

/** Bound on first use (koffi is loaded only by a process that writes files); null where it cannot be. */
function bind(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (process.platform !== 'linux') return libc;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const renameat2 = koffi.load('libc.so.6').func('int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags)');
    libc = { renameat2: (...args) => renameat2(...args) as number, errno: () => koffi.errno() };
  } catch {
    // (musl, or no prebuilt binary for this machine: a plain rename.)
  }
  return libc;
}

const codeOf = (errno: number): string => Object.entries(constants.errno).find(([, value]) => value === errno)?.[0] ?? `errno ${errno}`;

/** The call or the file system does not know the flag: a plain rename will do. */
const unsupported = (code: string) => code === 'EINVAL' || code === 'ENOSYS' || code === 'EOPNOTSUPP';

function call(from: string, to: string, flags: number): 'done' | string {
  const lib = bind();
  if (!lib) return 'ENOSYS';
  if (lib.renameat2(AT_FDCWD, from, AT_FDCWD, to, flags) === 0) return 'done';
  return codeOf(lib.errno());
}

function fail(code: string, from: string, to: string): never {
  throw Object.assign(new Error(`${code}: renameat2 '${from}' -> '${to}'`), { code, syscall: 'renameat2', path: from, dest: to });
}

/**
 * Renames `from` over `to`, synchronously. `exchanged`: what was at `to` is now at `from` (an atomic
 * swap), for the caller to look at and remove; `renamed`: nothing was there (with `expectEmpty`), or
 * a plain rename replaced it (no exchange here); `occupied`: `expectEmpty`, and a file appeared at `to`
 * — nothing was renamed.
 */
export function renameOver(from: string, to: string, { expectEmpty }: { expectEmpty: boolean }): 'exchanged' | 'renamed' | 'occupied' {
  if (!expectEmpty) {
    const code = call(from, to, RENAME_EXCHANGE);
    if (code === 'done') return 'exchanged';
    if (unsupported(code)) return (renameSync(from, to), 'renamed');
    // (Deleted since the look: then nothing is in its place but what may appear now.)
    if (code !== 'ENOENT') fail(code, from, to);
  }
  const code = call(from, to, RENAME_NOREPLACE);
  if (code === 'done') return 'renamed';
  if (code === 'EEXIST') return 'occupied';
  if (unsupported(code)) return (renameSync(from, to), 'renamed');
  fail(code, from, to);
}
