// Loaded with `node --import`: holds the process before the server's own code runs until a line
// arrives on stdin, so that several servers can be released at the same instant.

await new Promise((resolve) => process.stdin.once('data', resolve));
process.stdin.pause();
