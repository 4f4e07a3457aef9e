// The ContainerRuntime contract on the in-memory runtime: what the suite asks of a host (a process exits, runs
// out of memory, Docker goes away) is done with the fake's own controls.
import { dirname, basename } from 'node:path';
import { registerContainerRuntimeContract } from '../../contract/container-runtime-contract.ts';
import { InMemoryRuntime } from '../../fakes/in-memory-runtime.ts';

/** The fake acts at once; the contract awaits what a real host does in its own time. */
function settled(action: () => void): Promise<void> {
  action();
  return Promise.resolve();
}

registerContainerRuntimeContract({
  name: 'in-memory runtime',
  skip: false,
  open: () => {
    const runtime = new InMemoryRuntime();
    const stubbornCommand = ['ignores', 'SIGTERM'];
    runtime.onStart((container) => {
      runtime.log(container.id, 'started');
      if (container.spec.command.join(' ') === stubbornCommand.join(' ')) runtime.setStopBehaviour(container.id, { ignoresTerm: true });
    });
    const volumeAt = (id: string, path: string): string => {
      const mount = runtime.container(id)?.spec.volumes.find((volume) => volume.path === dirname(path));
      if (!mount) throw new Error(`no volume at ${dirname(path)} in ${id}`);
      return mount.name;
    };
    return Promise.resolve({
      runtime,
      owner: 'contract-fake',
      imageName: (tag: string) => `berth/contract-fake/images:${tag}`,
      command: ['runs', 'until', 'stopped'],
      stubbornCommand,
      exit: (id: string, code: number) => settled(() => {
        runtime.exit(id, code);
      }),
      exhaustMemory: (id: string) => settled(() => {
        runtime.oomKill(id);
      }),
      writeFile: (id: string, path: string, text: string) => settled(() => {
        runtime.writeVolumeFile(volumeAt(id, path), basename(path), text);
      }),
      readFile: (id: string, path: string) => Promise.resolve(runtime.volumes.find((v) => v.name === volumeAt(id, path))?.files.get(basename(path))),
      removeNetworkOutsideBerth: (name: string) => settled(() => {
        runtime.removeNetworkOutsideBerth(name);
      }),
      outage: {
        runtime,
        begin: () => settled(() => {
          runtime.startOutage();
        }),
        end: () => settled(() => {
          runtime.endOutage();
        }),
      },
      close: () => Promise.resolve(),
    });
  },
});
