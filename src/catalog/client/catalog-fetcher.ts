// How tuf-js fetches metadata for berth: an HTTP GET (http-get.ts, not fetch) with an idle timeout (a slow but live link is fine; a
// stalled one is not — tuf-js's own timeout covers the whole body), no https → http downgrade on redirects, and
// transport failures remembered so that the caller can report 7033/7034 even when tuf-js wraps the error.
import { BaseFetcher } from 'tuf-js';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import { Readable } from 'node:stream';
import { CatalogError, CatalogFault, toTransportError } from './catalog-error.ts';
import { httpGet } from './http-get.ts';
import type { HttpGetResponse } from './http-get.ts';

export interface FetchOptions {
  idleTimeoutMs: number;
  userAgent: string;
  signal?: AbortSignal | undefined;
}

/**
 * A GET whose body aborts when no byte arrives for `idleTimeoutMs` (a slow but live link is fine). Transport
 * failures become CatalogError 7033/7034 (an https URL redirected to http is 7034); HTTP statuses are left to
 * the caller.
 */
export async function fetchWithIdleTimeout(url: string, options: FetchOptions): Promise<HttpGetResponse> {
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
  let response: HttpGetResponse;
  try {
    response = await httpGet(url, {
      signal: controller.signal,
      headers: { 'user-agent': options.userAgent },
      onRedirect: (from, to) => {
        if (from.protocol === 'https:' && to.protocol !== 'https:') throw new CatalogError(CatalogFault.ServerInsecure, `catalog server redirected ${from.href} to insecure ${to.href}`);
      },
    });
  } catch (error) {
    disarm();
    if (options.signal?.aborted) throw options.signal.reason;
    if (controller.signal.aborted && controller.signal.reason instanceof DOMException) throw toTransportError(controller.signal.reason, url);
    throw toTransportError(error, url);
  }
  const body = response.body;
  body.on('data', arm);
  body.once('end', disarm);
  body.once('close', disarm);
  return response;
}

/** The body as the web stream tuf-js reads. */
export function toWebStream(body: Readable): ReadableStream<Uint8Array<ArrayBuffer>> {
  return Readable.toWeb(body) as ReadableStream<Uint8Array<ArrayBuffer>>;
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
    let response: HttpGetResponse;
    try {
      response = await fetchWithIdleTimeout(url, this.#options);
    } catch (error) {
      if (error instanceof CatalogError) this.lastTransportError = error;
      throw error;
    }
    if (!response.ok) {
      response.body.destroy();
      if (response.status >= 500) {
        this.lastTransportError = new CatalogError(CatalogFault.ServerUnreachable, `catalog server answered ${response.status} for ${url}`);
      }
      // tuf-js treats only DownloadHTTPError 403/404 as "no newer root".
      throw new DownloadHTTPError(`${url}: HTTP ${response.status}`, response.status);
    }
    return toWebStream(response.body);
  }
}
