// The `custom` member of a catalog target: what a gateway must know before it downloads a byte (admission
// control runs on these figures), signed by the publisher together with the package's length and hashes.
// Integers and strings only: TUF's canonical JSON refuses floats.
import { array, integer, object, string } from '../validation/schema.ts';
import type { Infer } from '../validation/schema.ts';

const resourceInt = integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

export const targetCustomSchema = object({
  name: string({ pattern: /^[a-z0-9][a-z0-9-]{0,62}$/ }),
  vendor: string({ pattern: /^[a-z0-9][a-z0-9.-]{0,62}$/ }),
  version: string({ min: 1, max: 64 }),
  description: string({ max: 1024 }),
  requiresBerth: string({ max: 256 }),
  packageSize: resourceInt,
  unpackedSize: resourceInt,
  executionUnits: array(object({ name: string({ min: 1, max: 63 }), memoryKiB: resourceInt, cpuPercent: resourceInt, diskKiB: resourceInt }), { min: 1, max: 16 }),
});

export type TargetCustom = Infer<typeof targetCustomSchema>;

/** The signed catalog path of a package: `<vendor>/<app>/<app>-<version>.berth` (matched by the `<vendor>/*\/*` delegation). */
export function targetPathOf(custom: Pick<TargetCustom, 'vendor' | 'name' | 'version'>): string {
  return `${custom.vendor}/${custom.name}/${custom.name}-${custom.version}.berth`;
}

// Target paths are plain ASCII without dot segments: tuf-js never matches a leading dot, python-tuf would.
const TARGET_PATH = /^[a-z0-9][a-z0-9.-]{0,62}\/[a-z0-9][a-z0-9-]{0,62}\/[a-z0-9][A-Za-z0-9.+-]{0,200}\.berth$/;

export function isSafeTargetPath(path: string): boolean {
  return TARGET_PATH.test(path) && !path.split('/').some((segment) => segment.startsWith('.') || segment.includes('..'));
}

/** The fields of a package manifest the summary is made from (see package/manifest.ts). */
export interface ManifestForSummary {
  name: string;
  vendor: string;
  version: string;
  description: string;
  requires: { berth: string };
  executionUnits: readonly { name: string; resources: { memoryKiB: number; cpuPercent: number; diskKiB: number } }[];
}

export function targetCustomOf(manifest: ManifestForSummary, packageSize: number, unpackedSize: number): TargetCustom {
  return {
    name: manifest.name,
    vendor: manifest.vendor,
    version: manifest.version,
    description: manifest.description,
    requiresBerth: manifest.requires.berth,
    packageSize,
    unpackedSize,
    executionUnits: manifest.executionUnits.map((eu) => ({
      name: eu.name,
      memoryKiB: eu.resources.memoryKiB,
      cpuPercent: eu.resources.cpuPercent,
      diskKiB: eu.resources.diskKiB,
    })),
  };
}
