// The ContainerRuntime contract on the real Docker Engine, through the adapter. The suite's containers run the
// offline probe image (busybox): a shell loop that logs `started` and exits with the code a test writes into
// /tmp/exit, or allocates until the kernel's OOM killer stops it once /tmp/oom appears (both put there by
// `docker exec`). An outage is a socket in front of Docker's that the test closes and opens again: the adapter
// sees exactly what it sees when dockerd goes away, without stopping the machine's dockerd. Each test's objects
// carry its own io.berth.owner label and are removed by it afterwards, even when the test fails.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { after } from 'node:test';
import { extract, pack } from 'tar-stream';
import { createDockerEngine, DockerError } from '../../../src/runtime/docker-engine.ts';
import { createDockerRuntime } from '../../../src/runtime/docker-runtime.ts';
import { imageNamePrefixOf } from '../../../src/smm/deployment.ts';
import { registerContainerRuntimeContract } from '../../contract/container-runtime-contract.ts';
import type { ContractSubject } from '../../contract/container-runtime-contract.ts';
import { removeImageNamesOf } from '../../helpers/berth-images.ts';
import { removeFirewallRules } from '../../helpers/firewall.ts';
import { dockerSkipReason, dockerWorks } from '../../helpers/smm-fixture.ts';
import { LABEL_OWNER } from '../../../src/runtime/labels.ts';

const DOCKER_SOCKET = '/var/run/docker.sock';
const RUN = Math.random().toString(36).slice(2, 8);
const LOOP = 'echo started; while :; do if [ -f /tmp/exit ]; then exit $(cat /tmp/exit); fi; if [ -f /tmp/oom ]; then s=aaaaaaaaaaaaaaaa; while :; do s="$s$s"; done; fi; sleep 0.1; done';
const STUBBORN = 'trap "" TERM; echo started; while :; do sleep 0.1; done';
const work = mkdtempSync(join(tmpdir(), 'berth-contract-docker-'));
after(() => {
  rmSync(work, { recursive: true, force: true });
});

let opened = 0;
const engine = createDockerEngine(DOCKER_SOCKET);

async function exec(id: string, command: string): Promise<void> {
  const created = await engine.json<{ Id: string }>('POST', `/containers/${id}/exec`, { json: { Cmd: ['/bin/sh', '-c', command], User: '1000:1000' } });
  await engine.json('POST', `/exec/${created.Id}/start`, { json: { Detach: true } });
}

async function tarOfFile(name: string, text: string): Promise<Readable> {
  const archive = pack();
  archive.entry({ name, mode: 0o644, mtime: new Date(0) }, text);
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  return Readable.from([Buffer.concat(chunks)]);
}

async function readFromContainer(id: string, path: string): Promise<string | undefined> {
  let response;
  try {
    response = await engine.stream('GET', `/containers/${id}/archive`, { query: { path } });
  } catch (error) {
    if (error instanceof DockerError && error.status === 404) return undefined;
    throw error;
  }
  const reader = extract();
  response.pipe(reader);
  let text: string | undefined;
  for await (const entry of reader) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    text ??= Buffer.concat(chunks).toString('utf8');
  }
  return text;
}

/** A socket that passes everything to Docker's until closed: an outage the adapter cannot tell from dockerd's. */
function dockerProxy(path: string): { begin: () => Promise<void>; end: () => Promise<void> } {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const listening = createServer((client) => {
        const upstream = createConnection(DOCKER_SOCKET);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('error', () => undefined);
          socket.on('close', () => sockets.delete(socket));
        }
        client.pipe(upstream).pipe(client);
      });
      listening.once('error', reject);
      listening.listen(path, () => {
        server = listening;
        resolve();
      });
    });
  return {
    begin: async () => {
      const closing = server;
      server = undefined;
      if (!closing) return;
      const closed = new Promise<void>((resolve) => closing.close(() => { resolve(); }));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    end: async () => {
      if (!server) await listen();
    },
  };
}

async function openSubject(): Promise<ContractSubject> {
  assert.ok(dockerWorks, 'CI needs a running Docker Engine (.ci/run starts dockerd)');
  const owner = `berth-contract-${RUN}-${++opened}`;
  const runtime = createDockerRuntime(DOCKER_SOCKET);
  const proxyPath = join(work, `${opened}.sock`);
  const proxy = dockerProxy(proxyPath);
  await proxy.end();
  const removedBehindBack: string[] = [];
  return {
    runtime,
    owner,
    imageName: (tag) => `${imageNamePrefixOf(owner)}contract:${tag}`,
    command: ['/bin/sh', '-c', LOOP],
    stubbornCommand: ['/bin/sh', '-c', STUBBORN],
    exit: (id, code) => exec(id, `echo ${code} > /tmp/exit`),
    exhaustMemory: (id) => exec(id, 'touch /tmp/oom'),
    writeFile: async (id, path, text) => {
      await engine.json('PUT', `/containers/${id}/archive`, { query: { path: dirname(path) }, body: await tarOfFile(basename(path), text), contentType: 'application/x-tar' });
    },
    readFile: readFromContainer,
    removeNetworkOutsideBerth: async (name) => {
      removedBehindBack.push(name);
      await engine.json('DELETE', `/networks/${encodeURIComponent(name)}`);
    },
    outage: { runtime: createDockerRuntime(proxyPath), begin: proxy.begin, end: proxy.end },
    close: async () => {
      await proxy.begin();
      const label = `${LABEL_OWNER}=${owner}`;
      for (const container of await runtime.listContainers(label)) await runtime.removeContainer(container.id).catch(() => undefined);
      // A volume a mount created has no labels: found by the owner in its name.
      const volumes = new Set([...(await runtime.listVolumes(label)).map((v) => v.name), ...[...(await runtime.diskUsage()).volumes.keys()].filter((name) => name.startsWith(owner))]);
      for (const volume of volumes) await runtime.removeVolume(volume).catch(() => undefined);
      for (const network of await runtime.listNetworks(label)) await runtime.removeNetwork(network.id).catch(() => undefined);
      removeFirewallRules(removedBehindBack);
      await removeImageNamesOf(runtime, owner);
      const left = [...(await runtime.listContainers(label)), ...(await runtime.listVolumes(label)), ...(await runtime.listNetworks(label))];
      assert.deepEqual(left, [], 'everything the test created is gone');
    },
  };
}

registerContainerRuntimeContract({ name: 'Docker Engine', skip: dockerSkipReason(), open: openSubject });
