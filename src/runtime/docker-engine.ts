// A small client of the Docker Engine API over its unix socket: just the calls berth makes (images, containers,
// volumes, networks, events, stats, logs). Why not dockerode: measured on Node 20, loading dockerode 5 adds
// 23 MiB of resident memory to the agent (it loads ssh2 and @grpc/grpc-js eagerly, for ssh:// daemons and
// BuildKit sessions berth never uses); 3.3.5 still adds 16 MiB. A gateway agent with a memory budget cannot
// carry that. The API is versioned and stable; the version is negotiated with the daemon at first use.
import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { BerthError } from '../errors/berth-error.ts';

/** The newest Engine API version berth has been written against; older daemons are spoken to in theirs. */
export const MAX_API_VERSION = '1.45';

/** A refusal of the Engine API; `status` is its HTTP status, 0 when the Engine could not be reached. */
export class DockerError extends BerthError {
  readonly status: number;
  constructor(status: number, message: string) {
    super(status === 0 ? 'DOCKER_UNREACHABLE' : 'DOCKER_REFUSED', message);
    this.name = 'DockerError';
    this.status = status;
  }
}

export interface DockerRequest {
  query?: Record<string, string | number | boolean | undefined>;
  json?: unknown;
  body?: Readable;
  contentType?: string;
  signal?: AbortSignal;
}

function compareVersions(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor - bMajor || aMinor - bMinor;
}

async function readAll(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export interface DockerEngine {
  readonly socketPath: string;
  /** Raw call: the response stream (for events, logs, image load progress). Throws DockerError on ≥ 400. */
  stream(method: string, path: string, options?: DockerRequest): Promise<IncomingMessage>;
  /** JSON call; resolves undefined for 204/304. */
  json<T>(method: string, path: string, options?: DockerRequest): Promise<T>;
  apiVersion(): Promise<string>;
}

export function createDockerEngine(socketPath = '/var/run/docker.sock'): DockerEngine {
  let negotiated: Promise<string> | undefined;

  function rawCall(method: string, path: string, options: DockerRequest = {}): Promise<IncomingMessage> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) query.set(key, String(value));
    const search = query.size > 0 ? `?${query.toString()}` : '';
    const payload = options.json === undefined ? undefined : Buffer.from(JSON.stringify(options.json));
    const headers: Record<string, string | number> = { host: 'docker' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    } else if (options.body) {
      headers['content-type'] = options.contentType ?? 'application/octet-stream';
      headers['transfer-encoding'] = 'chunked';
    }
    return new Promise((resolve, reject) => {
      const req = request({ socketPath, method, path: `${path}${search}`, headers, ...(options.signal ? { signal: options.signal } : {}) }, resolve);
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED' || error.code === 'EACCES') {
          reject(new DockerError(0, `Docker Engine not reachable at ${socketPath} (${error.code})`));
        } else reject(error);
      });
      if (payload) req.end(payload);
      else if (options.body) {
        // A body that fails (a refused image archive) aborts the request: Docker must not see a shortened body as whole.
        options.body.on('error', (error) => req.destroy(error));
        options.body.pipe(req);
      }
      else req.end();
    });
  }

  async function apiVersion(): Promise<string> {
    negotiated ??= (async () => {
      const response = await rawCall('GET', '/version');
      if ((response.statusCode ?? 500) >= 400) throw new DockerError(response.statusCode ?? 500, await readAll(response));
      const version = JSON.parse(await readAll(response)) as { ApiVersion: string };
      return compareVersions(version.ApiVersion, MAX_API_VERSION) < 0 ? version.ApiVersion : MAX_API_VERSION;
    })().catch((error: unknown) => {
      negotiated = undefined;
      throw error;
    });
    return negotiated;
  }

  async function stream(method: string, path: string, options: DockerRequest = {}): Promise<IncomingMessage> {
    const version = await apiVersion();
    const response = await rawCall(method, `/v${version}${path}`, options);
    const status = response.statusCode ?? 500;
    if (status >= 400) {
      const text = await readAll(response);
      let message = text.trim();
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? message;
      } catch {
        // plain-text error body
      }
      throw new DockerError(status, `${method} ${path}: ${message || `HTTP ${status}`}`);
    }
    return response;
  }

  return {
    socketPath,
    stream,
    apiVersion,
    async json<T>(method: string, path: string, options: DockerRequest = {}): Promise<T> {
      const response = await stream(method, path, options);
      const text = await readAll(response);
      return (text.trim() === '' ? undefined : JSON.parse(text)) as T;
    },
  };
}

/** Splits a stream of newline-delimited JSON objects (events, image load progress) into values. */
export async function* jsonLines<T>(stream: AsyncIterable<Buffer | string>): AsyncGenerator<T> {
  // Chunks end anywhere, inside a multi-byte UTF-8 character too (a container or image name in an event): the
  // streaming decoder holds a character's first bytes until the rest arrive instead of making two U+FFFD of it.
  const decoder = new TextDecoder('utf-8');
  let pending = '';
  for await (const chunk of stream) {
    pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (line) yield JSON.parse(line) as T;
    }
  }
  pending += decoder.decode();
  if (pending.trim()) yield JSON.parse(pending) as T;
}

/** Demultiplexes a container log stream (no TTY): 8-byte frame headers, stream 1 stdout, 2 stderr. */
export function demuxLogs(bytes: Buffer): { stream: 'stdout' | 'stderr'; text: string }[] {
  const out: { stream: 'stdout' | 'stderr'; text: string }[] = [];
  // A frame is one write of the app, which may end inside a UTF-8 character: one decoder per stream joins it with
  // the rest of that character in the stream's next frame.
  const decoders = { stdout: new TextDecoder('utf-8'), stderr: new TextDecoder('utf-8') };
  let offset = 0;
  while (offset + 8 <= bytes.length) {
    const stream = bytes[offset] === 2 ? 'stderr' : 'stdout';
    const size = bytes.readUInt32BE(offset + 4);
    const end = Math.min(bytes.length, offset + 8 + size);
    out.push({ stream, text: decoders[stream].decode(bytes.subarray(offset + 8, end), { stream: true }) });
    offset = end;
  }
  for (const stream of ['stdout', 'stderr'] as const) {
    const rest = decoders[stream].decode();
    if (rest !== '') out.push({ stream, text: rest });
  }
  return out;
}
