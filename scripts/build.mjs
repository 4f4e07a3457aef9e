// `npm run build`: compiles TypeScript to dist/ and copies the generated protobuf module (plain JS) beside it.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './ensure-deps.mjs';

const tsc = spawnSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
mkdirSync(join(root, 'dist', 'src', 'usp', 'generated'), { recursive: true });
cpSync(join(root, 'src', 'usp', 'generated'), join(root, 'dist', 'src', 'usp', 'generated'), { recursive: true });
console.log('built dist/');
