// Helper process for trusted-metadata.test.ts: resolves a package URL over and over with one trusted-metadata
// folder, printing a line after each success, until it is killed.
import { createCatalogClient } from '../../../src/catalog/client/catalog-client.ts';

const [url, rootFile, stateDir, packageUrl] = process.argv.slice(2) as [string, string, string, string];
for (;;) {
  const client = createCatalogClient({ url, rootFile, stateDir, berthVersion: '0.1.0' });
  await client.resolve(packageUrl);
  process.stdout.write('resolved\n');
}
