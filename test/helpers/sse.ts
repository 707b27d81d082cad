// A minimal Server-Sent Events client over node:http, for tests.

import { get, type IncomingMessage } from 'node:http';

export interface SseClient {
  response: IncomingMessage;
  /** Resolves with the data of the next `balance` event (parsed), in arrival order. */
  next(): Promise<Record<string, unknown>>;
  comments: string[];
  close(): void;
}

export function connect(url: string): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const request = get(url, (response) => {
      const events: Record<string, unknown>[] = [];
      const waiting: ((event: Record<string, unknown>) => void)[] = [];
      const comments: string[] = [];
      let buffer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = block.split('\n');
          comments.push(...lines.filter((l) => l.startsWith(':')));
          const data = lines.find((l) => l.startsWith('data: '));
          if (!lines.includes('event: balance') || !data) continue;
          const event = JSON.parse(data.slice(6));
          const waiter = waiting.shift();
          if (waiter) waiter(event);
          else events.push(event);
        }
      });
      resolve({
        response,
        comments,
        next: () => {
          const ready = events.shift();
          return ready ? Promise.resolve(ready) : new Promise((r) => waiting.push(r));
        },
        close: () => request.destroy(),
      });
    });
    request.on('error', reject);
  });
}
