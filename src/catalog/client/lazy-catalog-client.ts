// The catalog client, loaded at the first install or update. The TUF code (tuf-js, @tufjs/models, semver ranges)
// is a tenth of what the agent would otherwise load at start, and a gateway may run for weeks without an install:
// an agent that never installs never holds it in memory.
import type { CatalogClient, CatalogClientOptions } from './catalog-client.ts';

export function createLazyCatalogClient(options: CatalogClientOptions): CatalogClient {
  let client: Promise<CatalogClient> | undefined;
  const loaded = (): Promise<CatalogClient> => (client ??= import('./catalog-client.ts').then(({ createCatalogClient }) => createCatalogClient(options)));
  return {
    resolve: async (url, signal) => (await loaded()).resolve(url, signal),
    download: async (resolved, downloadOptions) => (await loaded()).download(resolved, downloadOptions),
  };
}
