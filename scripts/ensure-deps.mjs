// Makes sure what berth's tests and demo need is on this machine: npm packages, Mosquitto, RabbitMQ, busybox-static,
// Docker.
// Installs what is missing when it can (root with apt-get), otherwise says exactly what to run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function which(command) {
  const result = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  if (result.status === 0) return result.stdout.trim();
  for (const dir of ['/usr/sbin', '/sbin', '/usr/local/sbin']) if (existsSync(join(dir, command))) return join(dir, command);
  return undefined;
}

function canApt() {
  return process.getuid?.() === 0 && which('apt-get') !== undefined;
}

let aptUpdated = false;
function aptInstall(packages) {
  if (!aptUpdated) {
    console.log('• apt-get update');
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    aptUpdated = true;
  }
  console.log(`• apt-get install -y ${packages.join(' ')}`);
  execFileSync('apt-get', ['install', '-y', '-qq', ...packages], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

export function ensureNodeModules() {
  if (existsSync(join(root, 'node_modules', 'tsx')) && existsSync(join(root, 'node_modules', 'mqtt'))) return;
  console.log('• npm ci (installing berth\'s npm packages)');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}

/** Returns true if Mosquitto is available afterwards. `required`: fail with a clear message instead of returning false. */
export function ensureMosquitto({ required }) {
  if (which('mosquitto')) return true;
  if (canApt()) {
    aptInstall(['mosquitto']);
    if (which('mosquitto')) return true;
  }
  const message = 'Mosquitto (the MQTT broker the integration tests and the demo use) is not installed.\n  Install it with: sudo apt-get install -y mosquitto';
  if (required) {
    console.error(`✗ ${message}`);
    process.exit(1);
  }
  console.warn(`! ${message}\n  Integration tests that need it are skipped.`);
  return false;
}

// RabbitMQ with its STOMP plugin: the broker of the STOMP MTP tests. The tests start private nodes from the package's
// own start script; the system service is neither needed nor touched (Debian does not start it in a container).
const RABBITMQ_SERVER_SCRIPTS = ['/usr/lib/rabbitmq/bin/rabbitmq-server', '/usr/local/lib/rabbitmq/bin/rabbitmq-server'];

/** Returns true if RabbitMQ is available afterwards. `required`: fail with a clear message instead of returning false. */
export function ensureRabbitmq({ required }) {
  const present = () => RABBITMQ_SERVER_SCRIPTS.some((path) => existsSync(path));
  if (present()) return true;
  if (canApt()) {
    aptInstall(['rabbitmq-server']);
    if (present()) return true;
  }
  const message = 'RabbitMQ (the STOMP broker the STOMP MTP integration tests use) is not installed.\n  Install it with: sudo apt-get install -y rabbitmq-server';
  if (required) {
    console.error(`✗ ${message}`);
    process.exit(1);
  }
  console.warn(`! ${message}\n  The STOMP integration tests are skipped.`);
  return false;
}

export function ensureOpenssl() {
  if (which('openssl')) return true;
  if (canApt()) aptInstall(['openssl']);
  return which('openssl') !== undefined;
}

// The sample apps' images are built around Debian's static busybox (no registry, no Docker needed to build).
export function ensureBusybox({ required }) {
  const present = () => ['/bin/busybox', '/usr/bin/busybox'].some((path) => existsSync(path));
  if (present()) return true;
  if (canApt()) {
    aptInstall(['busybox-static']);
    if (present()) return true;
  }
  const message = 'busybox-static (the sample apps\' images are built around it) is not installed.\n  Install it with: sudo apt-get install -y busybox-static';
  if (required) {
    console.error(`✗ ${message}`);
    process.exit(1);
  }
  console.warn(`! ${message}\n  Tests that build the sample apps are skipped.`);
  return false;
}

function dockerAnswers() {
  return spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 20_000 }).status === 0;
}

// Docker Engine: the runtime berth drives. Installed (Debian's docker.io) and started when run as root;
// dockerd runs in the background and outlives this process, like a service would.
export async function ensureDocker({ required }) {
  if (dockerAnswers()) return true;
  const root = process.getuid?.() === 0;
  if (root && !which('dockerd') && canApt()) aptInstall(['docker.io']);
  // berth confines apps' networks with iptables; the isolation test builds a "LAN device" with ip netns.
  if (root && canApt() && (!which('iptables') || !which('ip'))) aptInstall(['iptables', 'iproute2']);
  if (root && which('dockerd')) {
    console.log('• starting dockerd in the background (log: /tmp/berth-dockerd.log)');
    const { openSync } = await import('node:fs');
    const { spawn } = await import('node:child_process');
    const log = openSync('/tmp/berth-dockerd.log', 'a');
    spawn(which('dockerd'), [], { detached: true, stdio: ['ignore', log, log] }).unref();
    for (let waited = 0; waited < 60_000; waited += 500) {
      if (existsSync('/var/run/docker.sock') && dockerAnswers()) return true;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  const message = root
    ? 'Docker Engine did not start (see /tmp/berth-dockerd.log).'
    : 'Docker Engine is not running or not reachable by this user.\n  Install and start it with: sudo apt-get install -y docker.io && sudo systemctl start docker\n  and add yourself to the docker group: sudo usermod -aG docker $USER (then log in again)';
  if (required) {
    console.error(`✗ ${message}`);
    process.exit(1);
  }
  console.warn(`! ${message}\n  Tests that need Docker are skipped.`);
  return false;
}
