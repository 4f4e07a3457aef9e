// A small HTTP(S) GET on node:http/https for the catalog client. Not fetch(): Node's fetch (undici) costs the
// long-running agent ~10 MiB of resident memory once loaded (measured: 44 → 57 MiB for a process after a few
// requests, against 47 MiB with node:http), and the agent only ever needs GET with redirects.
import { get as httpGetRaw } from 'node:http';
import { get as httpsGetRaw } from 'node:https';
import type { IncomingMessage } from 'node:http';

export interface HttpGetResponse {
  status: number;
  ok: boolean;
  /** The URL that answered, after redirects. */
  url: string;
  body: IncomingMessage;
}

export interface HttpGetOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Called before a redirect is followed; throw to refuse it (e.g. https → http). */
  onRedirect?: (from: URL, to: URL) => void;
  maxRedirects?: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function once(url: URL, options: HttpGetOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const get = url.protocol === 'https:' ? httpsGetRaw : url.protocol === 'http:' ? httpGetRaw : undefined;
    if (!get) {
      reject(new Error(`unsupported URL scheme ${url.protocol}`));
      return;
    }
    const request = get(url, { headers: options.headers, ...(options.signal ? { signal: options.signal } : {}) }, resolve);
    request.once('error', reject);
  });
}

export async function httpGet(url: string, options: HttpGetOptions = {}): Promise<HttpGetResponse> {
  let current = new URL(url);
  for (let hops = 0; ; hops++) {
    const response = await once(current, options);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (REDIRECTS.has(status) && location !== undefined) {
      response.resume();
      if (hops >= (options.maxRedirects ?? 5)) throw new Error(`too many redirects from ${url}`);
      const next = new URL(location, current);
      options.onRedirect?.(current, next);
      current = next;
      continue;
    }
    return { status, ok: status >= 200 && status < 300, url: current.href, body: response };
  }
}
