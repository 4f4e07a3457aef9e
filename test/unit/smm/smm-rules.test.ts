// Pure rules of Software Module Management: DU UUIDs (TR-181 Annex C), the AutoRestart back-off, admission.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { duUuid, duUuidName, isUuidV5, uuidV5 } from '../../../src/smm/du-uuid.ts';
import { nextRestartDelay, retryCountAfterRun } from '../../../src/smm/restart-backoff.ts';
import type { AutoRestartPolicy } from '../../../src/smm/restart-backoff.ts';
import { admit } from '../../../src/smm/admission.ts';

test('DU UUID: version 5 in the DNS namespace over <Name>.<Vendor>. with unsafe name characters %-encoded', () => {
  // Reference values computed independently (Python's uuid.uuid5(uuid.NAMESPACE_DNS, name)).
  assert.equal(duUuidName('sample1', 'broadband-forum.org'), 'sample1.broadband-forum.org.');
  assert.equal(duUuid('sample1', 'broadband-forum.org'), 'fe2d23bd-dd02-51b8-af04-f5c18b2b0aa6');
  assert.equal(duUuidName('sample.1', 'broadband-forum.org'), 'sample%2e1.broadband-forum.org.');
  assert.equal(duUuid('sample.1', 'broadband-forum.org'), '0fbf4583-efd7-51b6-8483-7b347f4b521d');
  assert.equal(duUuid('parental-control', 'berth-samples.example'), 'cd09ded9-b2c2-5a42-bc5d-890a6b89cdc6');
  assert.equal(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'python.org'), '886313e1-3b8a-5372-9b90-0c9aee199e5d');
  assert.ok(isUuidV5(duUuid('a', 'b')));
  assert.equal(isUuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8'), false, 'a v1 UUID is not accepted');
  assert.equal(isUuidV5('not-a-uuid'), false);
});

const policy: AutoRestartPolicy = { enable: true, retryMinimumWaitInterval: 5, retryMaximumWaitInterval: 60, retryIntervalMultiplier: 2000, maximumRetryCount: 4, resetPeriod: 300 };

test('AutoRestart back-off: [m·k^n, m·k^(n+1)] below the maximum, then [max/k, max]; none after MaximumRetryCount or when disabled', () => {
  assert.equal(nextRestartDelay(policy, 0, () => 0), 5);
  assert.equal(nextRestartDelay(policy, 0, () => 1), 10);
  assert.equal(nextRestartDelay(policy, 2, () => 0), 20);
  assert.equal(nextRestartDelay(policy, 2, () => 1), 40);
  assert.equal(nextRestartDelay(policy, 3, () => 1), 60, 'capped at the maximum');
  const unlimited = { ...policy, maximumRetryCount: 0 };
  assert.equal(nextRestartDelay(unlimited, 10, () => 0), 30, 'past the maximum: from max·1000/k');
  assert.equal(nextRestartDelay(unlimited, 10, () => 1), 60);
  assert.equal(nextRestartDelay(policy, 4), undefined, 'MaximumRetryCount reached');
  assert.equal(nextRestartDelay({ ...policy, enable: false }, 0), undefined);
  assert.equal(retryCountAfterRun(policy, 3, 301), 0, 'a healthy run of ResetPeriod resets the count');
  assert.equal(retryCountAfterRun(policy, 3, 10), 3);
  assert.equal(retryCountAfterRun({ ...policy, resetPeriod: 0 }, 3, 10_000), 3, 'ResetPeriod 0 never resets');
});

test('admission: memory, CPU and disk (EU allocations + the unpacked image) against what is free; −1 is unconstrained', () => {
  const budget = { name: 'default', allocatedMemoryKiB: 65536, allocatedCpuPercent: 100, allocatedDiskKiB: 20480, usedMemoryKiB: 40000, usedCpuPercent: 50, usedDiskKiB: 10000 };
  const app = { executionUnits: [{ name: 'main', memoryKiB: 16384, cpuPercent: 10, diskKiB: 4096 }], unpackedBytes: 2_000_000 };
  assert.deepEqual(admit(budget, app), { admitted: true });
  const tooBig = admit(budget, { ...app, executionUnits: [{ name: 'main', memoryKiB: 32768, cpuPercent: 10, diskKiB: 0 }] });
  assert.deepEqual(tooBig, { admitted: false, message: 'not enough memory in ExecEnv default: the app needs 32768 KiB, 25536 KiB of 65536 KiB are free' });
  const disk = admit(budget, { ...app, unpackedBytes: 8_000_000 });
  assert.equal(disk.admitted, false);
  assert.match((disk as { message: string }).message, /not enough disk .* needs 11909 KiB, 10480 KiB/);
  assert.deepEqual(admit({ ...budget, allocatedMemoryKiB: -1 }, { ...app, executionUnits: [{ name: 'm', memoryKiB: 1e9, cpuPercent: 1, diskKiB: 0 }] }), { admitted: true });
  // An update releases what the old version holds.
  assert.deepEqual(admit({ ...budget, usedMemoryKiB: 60000 }, { ...app, releasing: { memoryKiB: 16384, cpuPercent: 10, diskKiB: 4096 } }), { admitted: true });
});

test('unit faults: exit code, OOM kill and signals in the message; early exits are failures to start', async () => {
  const { faultOfExit } = await import('../../../src/smm/unit-fault.ts');
  const at = (ms: number) => new Date(Date.UTC(2026, 10, 25, 12, 0, 0) + ms).toISOString();
  assert.deepEqual(faultOfExit({ exitCode: 3, oomKilled: false, startedAt: at(0), finishedAt: at(1000) }, false), { code: 'FailureOnStart', message: 'exited with code 3' });
  assert.deepEqual(faultOfExit({ exitCode: 3, oomKilled: false, startedAt: at(0), finishedAt: at(1000) }, true), { code: 'FailureOnAutoStart', message: 'exited with code 3' });
  assert.deepEqual(faultOfExit({ exitCode: 137, oomKilled: true, startedAt: at(0), finishedAt: at(60_000) }, false), {
    code: 'FailureWhileActive',
    message: 'killed: out of memory (exceeded its memory allocation), exit code 137',
  });
  assert.equal(faultOfExit({ exitCode: 143, oomKilled: false, startedAt: at(0), finishedAt: at(60_000) }, false).message, 'killed by signal 15 (exit code 143)');
  assert.match(faultOfExit({ exitCode: 0, oomKilled: false, startedAt: at(0), finishedAt: at(60_000) }, false).message, /code 0/);
});
