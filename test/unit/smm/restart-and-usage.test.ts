// The AutoRestart decision after a crash (back-off, ResetPeriod, giving up), what installed apps hold (one sum for
// admission, an Update's release and the ExecEnv rows) and when a unit is stopped for its disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { afterCrash } from '../../../src/smm/restart-backoff.ts';
import type { AutoRestartPolicy } from '../../../src/smm/restart-backoff.ts';
import { allocatedIn, cpuShareOf, heldBy } from '../../../src/smm/admission.ts';
import { exceedsDiskAllocation } from '../../../src/smm/usage-monitor.ts';
import type { DeploymentRecord } from '../../../src/smm/deployment.ts';

const policy: AutoRestartPolicy = { enable: true, retryMinimumWaitInterval: 5, retryMaximumWaitInterval: 60, retryIntervalMultiplier: 2000, maximumRetryCount: 3, resetPeriod: 300 };
const run = (seconds: number) => ({ startedAt: '2026-01-01T00:00:00.000Z', finishedAt: new Date(Date.parse('2026-01-01T00:00:00.000Z') + seconds * 1000).toISOString() });
const NOW = 1_800_000_000_000;

test('afterCrash: when to restart a crashed unit, or that it stays down', () => {
  const cases: { name: string; policy: AutoRestartPolicy; retryCount: number; ranSeconds: number | 'unknown'; want: ReturnType<typeof afterCrash> }[] = [
    { name: 'first crash: the minimum wait', policy, retryCount: 0, ranSeconds: 1, want: { retryCount: 0, restart: true, delayMs: 5000, at: NOW + 5000 } },
    { name: 'third crash: the wait has doubled twice', policy, retryCount: 2, ranSeconds: 1, want: { retryCount: 2, restart: true, delayMs: 20_000, at: NOW + 20_000 } },
    { name: 'MaximumRetryCount reached: gives up', policy, retryCount: 3, ranSeconds: 1, want: { retryCount: 3, restart: false, gaveUp: true } },
    { name: 'a run of ResetPeriod resets the count, even past the maximum', policy, retryCount: 3, ranSeconds: 300, want: { retryCount: 0, restart: true, delayMs: 5000, at: NOW + 5000 } },
    { name: 'just short of ResetPeriod: no reset', policy, retryCount: 3, ranSeconds: 299, want: { retryCount: 3, restart: false, gaveUp: true } },
    { name: 'AutoRestart off: stays down, no give-up message', policy: { ...policy, enable: false }, retryCount: 0, ranSeconds: 1, want: { retryCount: 0, restart: false, gaveUp: false } },
    { name: 'unparsable timestamps count as no run (no reset)', policy, retryCount: 3, ranSeconds: 'unknown', want: { retryCount: 3, restart: false, gaveUp: true } },
  ];
  for (const c of cases) {
    const times = c.ranSeconds === 'unknown' ? { startedAt: '', finishedAt: '' } : run(c.ranSeconds);
    assert.deepEqual(afterCrash(c.policy, c.retryCount, times, NOW, () => 0), c.want, c.name);
  }
});

const record = (execEnv: string, units: { memoryKiB: number; cpuPercent: number; diskKiB: number }[]): DeploymentRecord => ({
  uuid: 'u', name: 'a', vendor: 'v', version: '1', execEnv, imageId: 'i', network: undefined, volumes: [],
  units: units.map((u, i) => ({ name: `eu${i}`, containerId: `c${i}`, containerName: `c${i}`, autoStart: true, runLevel: 0, ...u })),
});

test('what installed apps hold: unit allocations plus the unpacked image, CPU as a share of the device rounded up', () => {
  assert.deepEqual([cpuShareOf(50, 4), cpuShareOf(1, 4), cpuShareOf(100, 0), cpuShareOf(0, 4)], [13, 1, 100, 0]);
  const a = { record: record('default', [{ memoryKiB: 1000, cpuPercent: 50, diskKiB: 10 }, { memoryKiB: 24, cpuPercent: 10, diskKiB: 0 }]), unpackedBytes: 2049 };
  assert.deepEqual(heldBy(a, 4), { memoryKiB: 1024, cpuPercent: 13 + 3, diskKiB: 10 + 3 });
  const b = { record: record('default', [{ memoryKiB: 1, cpuPercent: 1, diskKiB: 1 }]), unpackedBytes: 0 };
  const elsewhere = { record: record('other', [{ memoryKiB: 999, cpuPercent: 99, diskKiB: 999 }]), unpackedBytes: 1 };
  assert.deepEqual(allocatedIn([a, b, elsewhere], 'default', 4), { memoryKiB: 1025, cpuPercent: 17, diskKiB: 14 });
  assert.deepEqual(allocatedIn([a, b, elsewhere], 'empty', 4), { memoryKiB: 0, cpuPercent: 0, diskKiB: 0 });
});

test('disk allocation: a running unit over a set allocation is stopped; unknown disk, idle units and no allocation are not', () => {
  const cases: [string, { diskKnown: boolean; active: boolean; diskKiB: number }, number, boolean][] = [
    ['over', { diskKnown: true, active: true, diskKiB: 1025 }, 1024, true],
    ['exactly at the allocation', { diskKnown: true, active: true, diskKiB: 1024 }, 1024, false],
    ['no allocation (0)', { diskKnown: true, active: true, diskKiB: 1e9 }, 0, false],
    ['already stopped', { diskKnown: true, active: false, diskKiB: 2048 }, 1024, false],
    ['disk usage unknown (runtime did not answer)', { diskKnown: false, active: true, diskKiB: 2048 }, 1024, false],
  ];
  for (const [name, sample, allowed, want] of cases) assert.equal(exceedsDiskAllocation(sample, allowed), want, name);
});
