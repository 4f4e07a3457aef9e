// The ExecEnv berth uses when the config names none (DESIGN.md §5: "one ExecEnv sized from the machine"): half
// of the memory, all of the CPU, and half of the disk that holds the data folder. Sizes come from totals, not
// from what is free right now, so the default is the same at every start.
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { totalmem } from 'node:os';
import type { BerthConfig } from './config.ts';
import { DEFAULT_EXEC_ENV_ISOLATION } from '../smm/exec-env-policy.ts';

function diskTotalBytes(path: string): number {
  for (let dir = path; ; dir = dirname(dir)) {
    try {
      const stats = statfsSync(dir);
      return stats.blocks * stats.bsize;
    } catch {
      if (dirname(dir) === dir) return 0;
    }
  }
}

export function withDefaultExecEnvs(config: BerthConfig): BerthConfig {
  if (config.execEnvs) return config;
  const KiB = 1024;
  const defaults = DEFAULT_EXEC_ENV_ISOLATION.network;
  return {
    ...config,
    execEnvs: [
      {
        name: 'default',
        memoryKiB: Math.max(1024, Math.floor(totalmem() / 2 / KiB)),
        cpuPercent: 100,
        diskKiB: Math.max(1024, Math.floor(diskTotalBytes(config.dataDir) / 2 / KiB)),
        allowRoot: DEFAULT_EXEC_ENV_ISOLATION.allowRoot,
        network: {
          publishAddress: defaults.publishAddress,
          publishPorts: { ...defaults.publishPorts },
          reservedPorts: [...defaults.reservedPorts],
          egress: [...defaults.egress],
          lanSubnets: [...defaults.lanSubnets],
        },
      },
    ],
  };
}
