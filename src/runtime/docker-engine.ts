// berth's connection to the Docker Engine: dockerode over the unix socket, on the newest Engine API version berth
// is written against or the daemon's own when it is older (asked at first use, as the docker CLI does), and the
// two stream formats berth reads from it (newline-delimited JSON, multiplexed logs).
// dockerode and docker-modem load ssh2 (ssh:// daemons), @grpc/grpc-js and protobufjs (BuildKit sessions) and
// tar-fs (build contexts) as they load: the production bundle leaves them out (scripts/build.mjs), so the agent
// carries only dockerode's HTTP client (0.3–0.8 MiB at idle, README: Libraries; dockerode loaded whole cost
// 23 MiB).
import Docker from 'dockerode';
import { BerthError } from '../errors/berth-error.ts';

/** The newest Engine API version berth has been written against; older daemons are spoken to in theirs. */
export const MAX_API_VERSION = '1.45';

export interface DockerClient {
  readonly socketPath: string;
  /** dockerode on the negotiated API version; rejects (and asks again next time) while the daemon is away. */
  docker(): Promise<Docker>;
}

function compareVersions(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor - bMajor || aMinor - bMinor;
}

export function connectDocker(socketPath = '/var/run/docker.sock'): DockerClient {
  let negotiated: Promise<Docker> | undefined;
  return {
    socketPath,
    docker() {
      negotiated ??= (async () => {
        const { ApiVersion } = await new Docker({ socketPath }).version();
        const version = compareVersions(ApiVersion, MAX_API_VERSION) < 0 ? ApiVersion : MAX_API_VERSION;
        return new Docker({ socketPath, version: `v${version}` });
      })().catch((error: unknown) => {
        negotiated = undefined;
        throw error;
      });
      return negotiated;
    },
  };
}

/** A refusal of the Engine API; `status` is its HTTP status, 0 when the Engine could not be reached. */
export class DockerError extends BerthError {
  readonly status: number;
  constructor(status: number, message: string, options: { cause?: unknown } = {}) {
    super(status === 0 ? 'DOCKER_UNREACHABLE' : 'DOCKER_REFUSED', message, { cause: options.cause });
    this.name = 'DockerError';
    this.status = status;
  }
}

const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES']);

/**
 * A failed dockerode call as a DockerError: the HTTP status with Docker's own message (docker-modem puts it in
 * `json.message` and prefixes its `message` with the status), or status 0 when the daemon could not be reached;
 * undefined for anything else.
 */
export function dockerError(error: unknown, socketPath: string): DockerError | undefined {
  const failure = error as { statusCode?: unknown; code?: unknown; json?: { message?: unknown } | null; message?: unknown } | undefined;
  if (typeof failure?.statusCode === 'number') {
    const message = typeof failure.json?.message === 'string' ? failure.json.message : String(failure.message);
    return new DockerError(failure.statusCode, message.trim() || `HTTP ${failure.statusCode}`, { cause: error });
  }
  if (typeof failure?.code === 'string' && UNREACHABLE.has(failure.code)) {
    return new DockerError(0, `Docker Engine not reachable at ${socketPath} (${failure.code})`, { cause: error });
  }
  return undefined;
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
