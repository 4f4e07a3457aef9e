// POST /api/v1/publish/<vendor>, reachable by anyone: the signed role inside the body is the only credential.
// So the cheap checks come first, each answered before a byte of the body is read: a vendor this catalog knows,
// the content type, the declared length, a free publish slot. Then the body, counted and timed
// (publish-body.ts), and the repository's checks (repository/publish.ts): the role's signature before the package.
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decodePublishHead, maxPublishBodyBytes, PUBLISH_CONTENT_TYPE, PublishFramingError } from '../publish-protocol.ts';
import { acceptPublish } from '../repository/publish.ts';
import type { PublishResult } from '../repository/publish.ts';
import { RepositoryError } from '../repository/repository.ts';
import type { ExpiryPolicy } from '../repository/repository.ts';
import { layoutOf } from '../repository/repository-layout.ts';
import { createVendorLookup } from './known-vendors.ts';
import { meterPublishBody, PublishBodyError } from './publish-body.ts';
import { PUBLISH_RETRY_AFTER_SECONDS } from './server-limits.ts';
import type { CatalogServerLimits } from './server-limits.ts';

export interface PublishRouteOptions {
  dir: string;
  limits: CatalogServerLimits;
  expiry?: ExpiryPolicy;
  now?: () => number;
}

const HTTP_STATUS_OF: Record<string, number> = {
  UNKNOWN_PUBLISHER: 404,
  BAD_SIGNATURE: 401,
  OUTSIDE_DELEGATION: 403,
  STALE_VERSION: 409,
  IMMUTABLE: 409,
  BAD_METADATA: 400,
  BAD_REQUEST: 400,
  TOO_LARGE: 413,
  TIMEOUT: 408,
  PACKAGE_MISMATCH: 422,
  BAD_PACKAGE: 422,
};

type PublishRequest = FastifyRequest<{ Params: { vendor: string } }>;

interface Refusal {
  code: string;
  message: string;
}

function refuse(reply: FastifyReply, code: string, message: string): FastifyReply {
  return reply.code(HTTP_STATUS_OF[code] ?? 400).send({ error: code, message });
}

/** What the client is told for an error of its own making; anything else is the server's and is thrown on. */
function refusalOf(error: unknown): Refusal {
  if (error instanceof RepositoryError || error instanceof PublishBodyError) return { code: error.code, message: error.message };
  if (error instanceof PublishFramingError) return { code: 'BAD_REQUEST', message: error.message };
  throw error;
}

export function registerPublishRoute(app: FastifyInstance, options: PublishRouteOptions): void {
  const { limits } = options;
  const isKnownVendor = createVendorLookup(layoutOf(options.dir));
  const maxBodyBytes = maxPublishBodyBytes(limits.maxPackageBytes);
  let inFlight = 0;

  // The body is streamed, never buffered by fastify: the parser hands the raw request to the handler.
  app.addContentTypeParser(PUBLISH_CONTENT_TYPE, (_request, payload, done) => {
    done(null, payload);
  });

  const cheapChecks = async (request: PublishRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const vendor = request.params.vendor;
    if (!(await isKnownVendor(vendor))) {
      return refuse(reply, 'UNKNOWN_PUBLISHER', `no publisher "${vendor}" in this catalog (add it with \`berth catalog publisher add\`)`);
    }
    if (request.headers['content-type'] !== PUBLISH_CONTENT_TYPE) {
      return reply.code(415).send({ error: 'BAD_REQUEST', message: `Content-Type must be ${PUBLISH_CONTENT_TYPE}` });
    }
    const declared = request.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBodyBytes) {
      return refuse(reply, 'TOO_LARGE', `packages are limited to ${limits.maxPackageBytes} bytes`);
    }
    return undefined;
  };

  app.post<{ Params: { vendor: string } }>('/api/v1/publish/:vendor', {
    // Before fastify parses anything: an unknown vendor or a wrong type costs no body.
    onRequest: (request, reply) => cheapChecks(request, reply),
  }, async (request, reply) => {
    // One publish, one connection: the answer closes it (a refused body is not read any further).
    void reply.header('connection', 'close');
    if (inFlight >= limits.maxConcurrentPublishes) {
      void reply.header('retry-after', String(PUBLISH_RETRY_AFTER_SECONDS));
      return reply.code(503).send({ error: 'BUSY', message: `${inFlight} publishes are in progress, the most this catalog takes at once; try again in ${PUBLISH_RETRY_AFTER_SECONDS} s` });
    }
    inFlight++;
    const vendor = request.params.vendor;
    const body = meterPublishBody(request.body as Readable, { maxBytes: maxBodyBytes, timeoutMs: limits.publishRoleTimeoutMs });
    // Once the whole body is in, checking the package is the server's time: the idle timeout must not cut it.
    body.stream.once('finish', () => request.raw.socket.setTimeout(0));
    let outcome: { published: PublishResult } | { refused: Refusal };
    try {
      const { roleBytes, rest } = await decodePublishHead(body.stream);
      const published = await acceptPublish(options.dir, vendor, roleBytes, Readable.from(rest), {
        maxPackageBytes: limits.maxPackageBytes,
        maxUnpackedBytes: limits.maxUnpackedBytes,
        ...(options.expiry ? { expiry: options.expiry } : {}),
        ...(options.now ? { now: options.now } : {}),
        onRoleAccepted: (packageLength) => {
          body.extendDeadline((packageLength / limits.publishMinBytesPerSecond) * 1000);
        },
      });
      outcome = { published };
    } catch (error) {
      outcome = { refused: refusalOf(error) };
    } finally {
      body.stop();
      inFlight--;
    }
    if ('refused' in outcome) {
      request.log.warn({ vendor, code: outcome.refused.code }, outcome.refused.message);
      return refuse(reply, outcome.refused.code, outcome.refused.message);
    }
    const result = outcome.published;
    request.log.info({ vendor, target: result.targetPath, version: result.version }, 'published');
    const base = `${request.protocol}://${request.host}`;
    return reply.code(201).send({ ...result, url: result.targetPath ? `${base}/targets/${result.targetPath}` : undefined });
  });
}
