// client.ts: a small HTTP client for the server tests (node:http, a fresh
// connection per request) and a raw-socket helper for half-sent requests.
import * as http from 'http';
import * as net from 'net';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON when the server said application/json, else undefined. */
  json: unknown;
}

export function request(port: number, method: string, path: string, body?: string | Buffer, headers: http.OutgoingHttpHeaders = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const h: http.OutgoingHttpHeaders = { ...headers };
    if (body !== undefined && h['content-type'] === undefined) h['content-type'] = 'application/json';
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: h, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const isJson = (res.headers['content-type'] ?? '').startsWith('application/json');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: isJson ? JSON.parse(text) : undefined });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

export function post(port: number, path: string, payload: unknown): Promise<Reply> {
  return request(port, 'POST', path, JSON.stringify(payload));
}

/**
 * Sends the headers and the first `sentBytes` of a JSON POST over a raw socket;
 * finish() sends the rest and resolves with the raw response text.
 */
export async function halfPost(port: number, path: string, payload: unknown, sentBytes = 5): Promise<{ finish(): Promise<string>; socket: net.Socket }> {
  const body = Buffer.from(JSON.stringify(payload));
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((r, j) => {
    socket.once('connect', () => r());
    socket.once('error', j);
  });
  let received = '';
  const done = new Promise<string>((resolve) => {
    socket.on('data', (c: Buffer) => (received += c.toString('utf8')));
    socket.on('close', () => resolve(received));
    socket.on('error', () => resolve(received));
  });
  socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
  socket.write(body.subarray(0, sentBytes));
  return {
    socket,
    finish(): Promise<string> {
      socket.write(body.subarray(sentBytes));
      return done;
    },
  };
}

/** Status code of a raw HTTP response text. */
export function rawStatus(raw: string): number {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(raw);
  return m ? Number(m[1]) : 0;
}

/** JSON body of a raw HTTP response text (Content-Length framed, as the server sends). */
export function rawJson(raw: string): unknown {
  const i = raw.indexOf('\r\n\r\n');
  return JSON.parse(raw.slice(i + 4));
}
