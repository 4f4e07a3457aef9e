// Test cleanup of images by berth's own names: only the names an agent gave go, so an image that something else
// still holds (the host, another test running at the same time) stays.
import type { ContainerRuntime } from '../../src/runtime/container-runtime.ts';
import { imageNamePrefixOf } from '../../src/smm/deployment.ts';

export async function removeImageNamesOf(runtime: ContainerRuntime, owner: string): Promise<void> {
  const prefix = imageNamePrefixOf(owner);
  for (const image of await runtime.listImages()) {
    for (const name of image.tags) if (name.startsWith(prefix)) await runtime.untagImage(name).catch(() => undefined);
  }
}
