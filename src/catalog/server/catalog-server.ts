// The catalog server (fastify): TUF metadata and targets as plain files, the publish API, and a page for people.
// Built by a factory that never listens (DESIGN.md §6.8); `berth catalog serve` listens and keeps the timestamp
// fresh. Reads need nothing but the files under repository/, so a static server or CDN can serve them at scale.
// Every client is a stranger: what each may make the server spend is bounded (server-limits.ts).
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import Fastify, { LogController } from 'fastify';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { ExpiryPolicy } from '../repository/repository.ts';
import { layoutOf } from '../repository/repository-layout.ts';
import { renderCatalogPage } from './catalog-page.ts';
import { createAppListing } from './list-apps.ts';
import type { CatalogListing, RoleReader } from './list-apps.ts';
import { MAX_PAGE_PUBLISHERS, pageJson, pageOf, PageQueryError, parsePageQuery } from './listing-page.ts';
import type { ListingPage, PageQuery } from './listing-page.ts';
import { registerPublishRoute } from './publish-route.ts';
import { DEFAULT_SERVER_LIMITS } from './server-limits.ts';
import type { CatalogServerLimits } from './server-limits.ts';

export interface CatalogServerOptions {
  dir: string;
  logger?: Logger;
  /** Sizes, concurrency, timeouts and connections; each defaults to DEFAULT_SERVER_LIMITS. */
  limits?: Partial<CatalogServerLimits>;
  expiry?: ExpiryPolicy;
  now?: () => number;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
  /** How the app listing reads a role's metadata file (default: from `dir`); a test counts reads with it. */
  readRole?: RoleReader;
}

// Only names the repository itself writes: `timestamp.json`, `<n>.<role>.json` (a vendor, or a hash bin `bin_<hex>`),
// and target paths made of safe segments. Everything else is a 404 without touching the file system beyond repository/.
const METADATA_FILE = /^(timestamp|\d{1,10}\.[a-z0-9][a-z0-9._-]{0,62})\.json$/;
const TARGET_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9.+-]{0,255}$/;
// Timeouts are checked this often (Node's default is 30 s, which would let a header trickle on for 40 s).
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

async function sendFile(reply: FastifyReply, path: string, cacheControl: string): Promise<FastifyReply> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) return reply.code(404).send({ error: 'NOT_FOUND', message: 'no such file' });
  const size = info.size;
  return reply
    .header('content-length', size)
    .header('cache-control', cacheControl)
    .type(path.endsWith('.json') ? 'application/json' : 'application/octet-stream')
    .send(createReadStream(path));
}

export function buildCatalogServer(options: CatalogServerOptions): FastifyInstance {
  const layout = layoutOf(options.dir);
  const limits: CatalogServerLimits = { ...DEFAULT_SERVER_LIMITS, ...options.limits };
  const serverOptions = { connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS, headersTimeout: limits.headersTimeoutMs, requestTimeout: 0 };
  const app = Fastify({
    ...(options.tls ? { https: { ...options.tls, ...serverOptions } } : { http: serverOptions }),
    loggerInstance: options.logger,
    // Reads are plain file serving (a CDN's job at scale): not logged per request; publishes are.
    logController: new LogController({ disableRequestLogging: true }),
    // No request body is ever buffered: the publish body is streamed and other routes take none.
    bodyLimit: 64 * 1024,
    // Socket idle time. The whole-request timeout stays off (0): a large package may take long to upload; the
    // publish route times its body itself (publish-body.ts).
    connectionTimeout: limits.idleTimeoutMs,
    requestTimeout: 0,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // close() must not wait for clients' keep-alive sockets: on shutdown every connection is closed; an
    // interrupted publish changes nothing and can simply be sent again.
    forceCloseConnections: true,
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;
  app.server.maxConnections = limits.maxConnections;
  // Only the publish route takes a body, and it streams it: no parser buffers and parses JSON or text for anyone.
  app.removeAllContentTypeParsers();

  app.addHook('onSend', (request, reply, payload, done) => {
    // Answered before its body was all read (refused, or a body where none belongs): the connection is closed
    // after the answer, so a client trickling a body cannot keep it.
    if (!request.raw.complete) void reply.header('connection', 'close');
    done(null, payload);
  });

  app.get('/healthz', () => ({ ok: true }));

  app.get<{ Params: { file: string } }>('/metadata/:file', async (request, reply) => {
    const file = request.params.file;
    if (!METADATA_FILE.test(file)) return reply.code(404).send({ error: 'NOT_FOUND', message: 'no such metadata' });
    // timestamp.json changes at every publish; versioned files never change.
    const cache = file === 'timestamp.json' ? 'no-cache' : 'public, max-age=31536000, immutable';
    return sendFile(reply, join(layout.metadataDir, file), cache);
  });

  app.get<{ Params: { '*': string } }>('/targets/*', async (request, reply) => {
    const segments = request.params['*'].split('/');
    if (segments.length !== 3 || !segments.every((segment) => TARGET_SEGMENT.test(segment) && !segment.includes('..'))) {
      return reply.code(404).send({ error: 'NOT_FOUND', message: 'no such target' });
    }
    return sendFile(reply, join(layout.targetsDir, ...segments), 'public, max-age=31536000, immutable');
  });

  registerPublishRoute(app, {
    dir: options.dir,
    limits,
    ...(options.expiry ? { expiry: options.expiry } : {}),
    ...(options.now ? { now: options.now } : {}),
  });

  // The listing is read once per published state and kept in memory (list-apps.ts); a request costs one read of
  // timestamp.json and one page (listing-page.ts).
  const listing = createAppListing(options.dir, options.readRole);
  // Built once the server is ready rather than at the first request (~10 s at 10,000 publishers); requests that
  // arrive meanwhile wait for this build. Not awaited: the metadata and the publish API serve at once.
  app.addHook('onReady', async () => {
    void listing.current().catch((error: unknown) => { app.log.warn({ err: error }, 'building the app listing failed; the next request tries again'); });
    return Promise.resolve();
  });
  const pageFor = async (query: unknown, reply: FastifyReply): Promise<{ listing: CatalogListing; page: ListingPage; query: PageQuery } | undefined> => {
    let parsed: PageQuery;
    try {
      parsed = parsePageQuery(query as Record<string, unknown>);
    } catch (error) {
      if (!(error instanceof PageQueryError)) throw error;
      await reply.code(400).send({ error: 'BAD_REQUEST', message: error.message });
      return undefined;
    }
    const current = await listing.current();
    return { listing: current, page: pageOf(current, parsed), query: parsed };
  };

  app.get('/', async (request, reply) => {
    const found = await pageFor(request.query, reply);
    if (!found) return reply;
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(renderCatalogPage(found.listing, found.page));
  });

  app.get('/api/v1/apps', async (request, reply) => {
    const found = await pageFor(request.query, reply);
    if (!found) return reply;
    void reply.header('x-total-count', String(found.listing.publishers.length)).header('cache-control', 'no-cache');
    if (found.page.nextAfter !== undefined) {
      const limit = found.query.limit === MAX_PAGE_PUBLISHERS ? '' : `&limit=${found.query.limit}`;
      const next = `/api/v1/apps?after=${encodeURIComponent(found.page.nextAfter)}${limit}`;
      void reply.header('link', `<${next}>; rel="next"`);
    }
    return reply.type('application/json; charset=utf-8').send(pageJson(found.page));
  });

  return app;
}
