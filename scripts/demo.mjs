// `npm run demo`: installs what the demo needs (npm packages, Mosquitto, busybox-static, Docker Engine) when it can
// (as root with apt-get; dockerd is started in the background), otherwise says what to do; then runs `berth demo`.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureBusybox, ensureDocker, ensureMosquitto, ensureNodeModules, root } from './ensure-deps.mjs';

ensureNodeModules();
ensureMosquitto({ required: true });
ensureBusybox({ required: true });
await ensureDocker({ required: true });
const result = spawnSync(process.execPath, [join(root, 'bin', 'berth.js'), 'demo', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit', env: { ...process.env, BERTH_FROM_SOURCE: '1' } });
process.exit(result.status ?? 1);
