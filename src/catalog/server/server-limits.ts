// What one catalog server lets its clients make it spend: sizes, publishes at once, time, connections. Every
// publish endpoint is reachable without credentials (the signed role inside the body is the credential), so each
// of these holds before anything is authenticated. The values and what happens at each limit are in README
// ("The app catalog", "Limits of the catalog server").
import { DEFAULT_MAX_UNPACKED_BYTES } from '../package/package-reader.ts';

export interface CatalogServerLimits {
  /** Largest package a publish may carry, by its signed length and by the bytes received. */
  maxPackageBytes: number;
  /** Largest unpacked size of a package (decompression bombs). */
  maxUnpackedBytes: number;
  /**
   * Publishes handled at once; one more is answered 503 with Retry-After before its body is read. Each buffers at
   * most one role (4 MiB, MAX_ROLE_BYTES) and one chunk, so this also bounds the memory of all publishes together.
   */
  maxConcurrentPublishes: number;
  /** Time from a publish's request to the end of its signed role; longer is cut off (408). */
  publishRoleTimeoutMs: number;
  /** Slowest upload accepted: a package of N bytes gets N / this many seconds more, after the role timeout. */
  publishMinBytesPerSecond: number;
  /** Time for a request's headers to arrive. */
  headersTimeoutMs: number;
  /** A connection with no byte in either direction for this long is closed (a stalled upload or download too). */
  idleTimeoutMs: number;
  /** How long an idle keep-alive connection waits for its next request. */
  keepAliveTimeoutMs: number;
  /** Connections open at once; more are closed as they arrive. */
  maxConnections: number;
}

export const DEFAULT_SERVER_LIMITS: Readonly<CatalogServerLimits> = {
  maxPackageBytes: 4 * 1024 ** 3,
  // The same bound `berth app publish` checks before uploading, so a package it sends is not refused for its size.
  maxUnpackedBytes: DEFAULT_MAX_UNPACKED_BYTES,
  maxConcurrentPublishes: 4,
  publishRoleTimeoutMs: 10_000,
  publishMinBytesPerSecond: 64 * 1024,
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 256,
};

/** Seconds a client told 503 (too many publishes) should wait before it tries again. */
export const PUBLISH_RETRY_AFTER_SECONDS = 5;

