// How tuf-js fetches metadata for berth: Node's fetch with an idle timeout (a slow but live link is fine; a
// stalled one is not — tuf-js's own timeout covers the whole body), no https → http downgrade on redirects, and
// transport failures remembered so that the caller can report 7033/7034 even when tuf-js wraps the error.
import { BaseFetcher } from 'tuf-js';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import { CatalogError, CatalogFault, toTransportError } from './catalog-error.ts';

export interface FetchOptions {
  idleTimeoutMs: number;
  userAgent: string;
  signal?: AbortSignal | undefined;
}

/**
 * fetch() whose body stream aborts when no byte arrives for `idleTimeoutMs`. Transport failures become
 * CatalogError 7033/7034; HTTP statuses are left to the caller.
 */
export async function fetchWithIdleTimeout(url: string, options: FetchOptions): Promise<Response> {
  const controller = new AbortController();
  const onAbort = (): void => {
    controller.abort(options.signal?.reason);
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      controller.abort(new DOMException(`no data for ${options.idleTimeoutMs} ms`, 'TimeoutError'));
    }, options.idleTimeoutMs);
  };
  const disarm = (): void => {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  };
  arm();
  let response: Response;
  try {
    response = await fetch(url, { signal: controller.signal, headers: { 'user-agent': options.userAgent }, redirect: 'follow' });
  } catch (error) {
    disarm();
    if (options.signal?.aborted) throw options.signal.reason;
    throw toTransportError(error, url);
  }
  if (new URL(url).protocol === 'https:' && new URL(response.url).protocol !== 'https:') {
    disarm();
    await response.body?.cancel();
    throw new CatalogError(CatalogFault.ServerInsecure, `catalog server redirected ${url} to insecure ${response.url}`);
  }
  if (!response.body) {
    disarm();
    return response;
  }
  const watched = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, sink) {
        arm();
        sink.enqueue(chunk);
      },
      flush() {
        disarm();
      },
    }),
  );
  return new Response(watched, { status: response.status, statusText: response.statusText, headers: response.headers });
}

export class CatalogFetcher extends BaseFetcher {
  /** The last transport failure of this fetcher: tuf-js stringifies errors it wraps, this keeps the kind. */
  lastTransportError: CatalogError | undefined;
  readonly #options: FetchOptions;

  constructor(options: FetchOptions) {
    super();
    this.#options = options;
  }

  override async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    let response: Response;
    try {
      response = await fetchWithIdleTimeout(url, this.#options);
    } catch (error) {
      if (error instanceof CatalogError) this.lastTransportError = error;
      throw error;
    }
    if (!response.ok) {
      await response.body?.cancel();
      if (response.status >= 500) {
        this.lastTransportError = new CatalogError(CatalogFault.ServerUnreachable, `catalog server answered ${response.status} for ${url}`);
      }
      // tuf-js treats only DownloadHTTPError 403/404 as "no newer root".
      throw new DownloadHTTPError(`${url}: HTTP ${response.status}`, response.status);
    }
    if (!response.body) throw new DownloadHTTPError(`${url}: empty response`, response.status);
    return response.body as ReadableStream<Uint8Array<ArrayBuffer>>;
  }
}
