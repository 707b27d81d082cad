// Start-up's refusal when a file is corrupt and nothing else holds the balance.

export class StartupRefusedError extends Error {
  constructor(readonly corrupt: { name: string; reason: string }[]) {
    const names = corrupt.map(({ name, reason }) => `${name} (${reason})`).join(' and ');
    super(
      `refusing to start: ${names} cannot be read and no other file or journal entry holds the balance. ` +
        'Both files were left exactly as they are. To recover, repair the corrupt file by hand so it holds {"balance": <amount>}, ' +
        'or move it aside to start again from INITIAL_BALANCE.',
    );
    this.name = 'StartupRefusedError';
  }
}
