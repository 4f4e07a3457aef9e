// The catalog server (fastify): TUF metadata and targets as plain files, the publish API, and a page for people.
// Built by a factory that never listens (DESIGN.md §6.8); `berth catalog serve` listens and keeps the timestamp
// fresh. Reads need nothing but the files under repository/, so a static server or CDN can serve them at scale.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Fastify, { LogController } from 'fastify';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { decodePublishHead, PUBLISH_CONTENT_TYPE, PublishFramingError } from '../publish-protocol.ts';
import { acceptPublish } from '../repository/publish.ts';
import { RepositoryError } from '../repository/repository.ts';
import type { ExpiryPolicy } from '../repository/repository.ts';
import { layoutOf } from '../repository/repository-layout.ts';
import { renderCatalogPage } from './catalog-page.ts';
import { listApps } from './list-apps.ts';

export interface CatalogServerOptions {
  dir: string;
  logger?: Logger;
  /** Limit on a package's unpacked size (decompression bombs); default 4 GiB. */
  maxUnpackedBytes?: number;
  /** Largest package accepted by publish; default 4 GiB. */
  maxPackageBytes?: number;
  expiry?: ExpiryPolicy;
  now?: () => number;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
}

const HTTP_STATUS_OF: Record<string, number> = {
  UNKNOWN_PUBLISHER: 404,
  BAD_SIGNATURE: 401,
  OUTSIDE_DELEGATION: 403,
  STALE_VERSION: 409,
  IMMUTABLE: 409,
  BAD_METADATA: 400,
  BAD_REQUEST: 400,
  PACKAGE_MISMATCH: 422,
  BAD_PACKAGE: 422,
};

// Only names the repository itself writes: `timestamp.json`, `<n>.<role>.json`, and target paths made of safe
// segments. Everything else is a 404 without touching the file system beyond repository/.
const METADATA_FILE = /^(timestamp|\d{1,10}\.[a-z0-9][a-z0-9.-]{0,62})\.json$/;
const TARGET_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9.+-]{0,255}$/;

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
  const maxPackageBytes = options.maxPackageBytes ?? 4 * 1024 ** 3;
  const app = Fastify({
    ...(options.tls ? { https: options.tls } : {}),
    loggerInstance: options.logger,
    // Reads are plain file serving (a CDN's job at scale): not logged per request; publishes are.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: maxPackageBytes + 4 * 1024 * 1024,
    // close() must not wait for clients' keep-alive sockets (fastify keeps them 72 s): on shutdown every
    // connection is closed; an interrupted publish changes nothing and can simply be sent again.
    forceCloseConnections: true,
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;

  // The publish body is streamed, never buffered: the parser hands the raw request stream to the handler.
  app.addContentTypeParser(PUBLISH_CONTENT_TYPE, (_request, payload, done) => {
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

  app.post<{ Params: { vendor: string } }>('/api/v1/publish/:vendor', async (request, reply) => {
    if (request.headers['content-type'] !== PUBLISH_CONTENT_TYPE) {
      return reply.code(415).send({ error: 'BAD_REQUEST', message: `Content-Type must be ${PUBLISH_CONTENT_TYPE}` });
    }
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > maxPackageBytes + 4 * 1024 * 1024) {
      return reply.code(413).send({ error: 'TOO_LARGE', message: `packages are limited to ${maxPackageBytes} bytes` });
    }
    const body = request.body as Readable;
    let result;
    try {
      const { roleJson, rest } = await decodePublishHead(body);
      result = await acceptPublish(options.dir, request.params.vendor, roleJson, Readable.from(rest), {
        maxUnpackedBytes: options.maxUnpackedBytes ?? 4 * 1024 ** 3,
        ...(options.expiry ? { expiry: options.expiry } : {}),
        ...(options.now ? { now: options.now } : {}),
      });
    } catch (error) {
      // A refused upload is not read further: the answer goes out and the connection closes.
      void reply.header('connection', 'close');
      if (error instanceof RepositoryError) {
        request.log.warn({ vendor: request.params.vendor, code: error.code }, error.message);
        return reply.code(HTTP_STATUS_OF[error.code] ?? 400).send({ error: error.code, message: error.message });
      }
      if (error instanceof PublishFramingError) return reply.code(400).send({ error: 'BAD_REQUEST', message: error.message });
      throw error;
    }
    request.log.info({ vendor: request.params.vendor, target: result.targetPath, version: result.version }, 'published');
    const base = `${request.protocol}://${request.host}`;
    return reply.code(201).send({ ...result, url: result.targetPath ? `${base}/targets/${result.targetPath}` : undefined });
  });

  app.get('/', async (_request, reply) => {
    const apps = await listApps(options.dir);
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(renderCatalogPage(apps));
  });

  app.get('/api/v1/apps', async () => listApps(options.dir));

  return app;
}
