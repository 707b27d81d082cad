// A process that takes a data folder's lock (the built module) when a line arrives on stdin, says
// `won` or `in use`, and, having won, holds the lock until it is killed.
// Usage: node lock-contender.mjs <data dir> <path of dist/src/store/data-dir-lock.js>

const [dir, lockModule] = process.argv.slice(2);
const { lockDataDir } = await import(lockModule);
process.stdin.once('data', () => {
  lockDataDir(dir).then(
    () => {
      process.stdout.write('won\n');
      setInterval(() => {}, 1 << 30);
    },
    (error) => {
      process.stdout.write(error.name === 'DataDirInUseError' ? 'in use\n' : `failed: ${error.message}\n`);
      process.exit(1);
    },
  );
});
process.stdout.write('ready\n');
