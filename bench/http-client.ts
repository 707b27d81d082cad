// A light client for sequential timed requests: node:http on one kept-alive connection. Node 20's
// fetch (undici) costs about 1 ms more per request in this process, which a POST figure would
// otherwise count as the service's.

import { Agent, request } from 'node:http';

export interface Answer {
  status: number;
  body: string;
  /** performance.now() when the whole answer had arrived. */
  at: number;
}

export class Connection {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });

  send(url: string, method = 'GET', body?: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(url, { method, agent: this.agent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, at: performance.now() }));
        res.on('error', reject);
      });
      req.once('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
