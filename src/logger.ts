// The process logger: JSON lines for machines, readable colour on a terminal.

import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export function createLogger(level: string, toTerminal: boolean): Logger {
  const options = { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime };
  // pino-pretty as a stream (not a transport) keeps logging in-process and synchronous.
  return toTerminal ? pino(options, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', sync: true })) : pino(options);
}
