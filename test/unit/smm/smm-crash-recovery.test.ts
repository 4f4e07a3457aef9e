// Crash recovery at every step: each runtime call an InstallDU, an Update and an Uninstall make (taken from a
// successful run) in turn fails — before it takes effect, or after it took effect with the answer lost — or the
// agent is killed right after it (kill -9: nothing more reaches the runtime or the disk) and a new agent boots on
// what was saved. Whatever the step, the end is consistent: the app runs at its old version or its new one (or is
// not there, or gone), never half-installed, with its data as it was; nothing is orphaned on the runtime; the DU
// table matches the runtime; and the Controller hears how the operation ended.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakePackageCatalog } from '../../helpers/fake-package-catalog.ts';
import type { FakeAppRelease } from '../../helpers/fake-package-catalog.ts';
import { EXEC_ENV, SmmFakeFixture } from '../../helpers/smm-fake-fixture.ts';
import type { CallPlan } from '../../helpers/smm-fake-fixture.ts';
import type { DuOperationReport } from '../../../src/smm/smm-service.ts';
import type { RuntimeOperation } from '../../fakes/in-memory-runtime.ts';

const hello = (version: string): FakeAppRelease => ({
  name: 'hello',
  version,
  units: [
    { name: 'web', network: { mode: 'isolated' }, volumes: [{ name: 'data', path: '/data' }] },
    { name: 'worker' },
  ],
});

let dir: string;
let catalog: FakePackageCatalog;
let v1: string;
let v2: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-smm-catalog-'));
  catalog = new FakePackageCatalog(dir);
  v1 = await catalog.add(hello('1.0.0'));
  v2 = await catalog.add(hello('1.1.0'));
});
after(() => rm(dir, { recursive: true, force: true }));

const DATA = 'written by 1.0.0';
// Short probation windows: fewer clock ticks per run (the windows themselves are tested in smm-lifecycle).
const FAST = { installProbationMs: 200, probationMs: 200 };

interface Scenario {
  kind: DuOperationReport['operation'];
  /** What is installed before the operation. */
  setup(fx: SmmFakeFixture): Promise<void>;
  operation(fx: SmmFakeFixture): Promise<DuOperationReport>;
  /** The versions the app may end at (undefined: not installed). */
  outcomes: (string | undefined)[];
}

const SCENARIOS: Scenario[] = [
  {
    kind: 'Install',
    setup: () => Promise.resolve(),
    operation: (fx) => fx.smm.install({ url: v1, execEnv: EXEC_ENV }),
    outcomes: [undefined, '1.0.0'],
  },
  {
    kind: 'Update',
    setup: async (fx) => {
      await fx.install(v1);
      fx.runtime.writeVolumeFile('berth-apps-hello-data-1.0.0', 'state.txt', DATA);
    },
    operation: (fx) => fx.smm.update(fx.entry('hello'), { url: v2, retainData: false }),
    outcomes: ['1.0.0', '1.1.0'],
  },
  {
    kind: 'Uninstall',
    setup: async (fx) => {
      await fx.install(v1);
      fx.runtime.writeVolumeFile('berth-apps-hello-data-1.0.0', 'state.txt', DATA);
    },
    operation: (fx) => fx.smm.uninstall(fx.entry('hello'), { retainData: false }),
    outcomes: ['1.0.0', undefined],
  },
];

/**
 * The runtime calls a successful run of the scenario's operation makes, up to its report (after it, the agent looks
 * for leftovers: that sweep is checked below, after every failure).
 */
async function stepsOf(scenario: Scenario): Promise<RuntimeOperation[]> {
  const fx = await SmmFakeFixture.open(catalog, FAST);
  try {
    await scenario.setup(fx);
    const first = fx.agent.calls.length;
    let reported = -1;
    fx.smm.onReport(() => { reported = fx.agent.calls.length; });
    const report = await fx.run(scenario.operation(fx));
    assert.equal(report.fault, undefined, 'the run the steps are taken from succeeds');
    return fx.agent.calls.slice(first, reported);
  } finally {
    await fx.close();
  }
}

/** What the app ended as, checked for consistency; its version, or undefined when it is not installed. */
function endState(fx: SmmFakeFixture, scenario: Scenario): string | undefined {
  assert.deepEqual(fx.problems(), [], 'the DU table matches the runtime, nothing orphaned');
  const rows = fx.rows();
  assert.ok(rows.length <= 1);
  const version = rows[0]?.version;
  assert.ok(scenario.outcomes.includes(version), `ends at ${version ?? 'not installed'}`);
  if (rows[0]) {
    assert.equal(rows[0].status, 'Installed');
    assert.deepEqual(rows[0].units.map((u) => [u.name, u.status, u.fault]), [['web', 'Active', 'NoFault'], ['worker', 'Active', 'NoFault']]);
    if (scenario.kind !== 'Install') {
      const volume = fx.entry('hello').record.volumes[0]!.name;
      assert.equal(fx.runtime.volumes.find((v) => v.name === volume)?.files.get('state.txt'), DATA, `the data in ${volume} is as 1.0.0 left it`);
    }
  }
  return version;
}

for (const scenario of SCENARIOS) {
  test(`${scenario.kind}: a failure of any runtime call, or a crash after it, ends consistent`, async (t) => {
    const steps = await stepsOf(scenario);
    assert.ok(steps.length > 3, steps.join(' '));
    for (const [k, step] of steps.entries()) {
      for (const kind of ['fail', 'fail-after-effect', 'crash-after'] as CallPlan['kind'][]) {
        await t.test(`step ${k} ${step}: ${kind}`, async () => {
          const fx = await SmmFakeFixture.open(catalog, FAST);
          try {
            await scenario.setup(fx);
            const agent = fx.agent;
            const first = agent.calls.length;
            agent.plan = { at: first + k, kind };
            const running = scenario.operation(fx);
            const ended = await fx.run(Promise.race([running, agent.died.then(() => 'died' as const)]));
            assert.equal(agent.calls[first + k], step, 'the same calls as in the successful run');
            if (kind === 'crash-after') {
              assert.equal(ended, 'died');
              const next = await fx.start();
              const version = endState(fx, scenario);
              assert.equal(next.reports.length, 1, 'the interrupted operation is reported after the restart');
              const report = next.reports[0]!;
              assert.equal(report.operation, scenario.kind);
              if (report.fault === undefined) {
                // Killed after it was committed, while it removed what it replaced: reported as done.
                assert.equal(version, scenario.outcomes[1]);
                assert.deepEqual([report.currentState, report.version, report.duInstance], [scenario.kind === 'Uninstall' ? 'Uninstalled' : 'Installed', scenario.kind === 'Update' ? '1.1.0' : '1.0.0', 1]);
              } else {
                assert.equal(report.fault.code, 7002);
                assert.match(report.fault.message, new RegExp(`the agent stopped during this ${scenario.kind.toLowerCase()}`));
                assert.equal(version, scenario.outcomes[0], 'nothing of it was kept');
                assert.equal(report.currentState, version === undefined ? 'Failed' : 'Installed');
              }
              t.diagnostic(`step ${k} ${step} ${kind}: after the restart ${report.currentState} ${report.fault?.code ?? 0}`);
              return;
            }
            assert.notEqual(ended, 'died');
            const report = ended as DuOperationReport;
            assert.equal(report.operation, scenario.kind);
            // What a lost answer or a failed removal left, the sweep after the operation removes: nothing is left
            // behind, and the DU table matches the runtime, before any restart.
            await fx.settle();
            const leftBehind = fx.problems();
            assert.deepEqual(leftBehind, [], 'nothing left behind once the operation is done');
            await fx.stop();
            const next = await fx.start();
            assert.deepEqual(next.reports, [], 'nothing was in flight');
            const version = endState(fx, scenario);
            const expected = report.fault === undefined ? scenario.outcomes[1] : scenario.outcomes[0];
            assert.equal(version, expected, `the report (${report.currentState}, fault ${report.fault?.code ?? 0}: ${report.fault?.message ?? ''}) says how it ended`);
            t.diagnostic(`step ${k} ${step} ${kind}: ${report.currentState} ${report.fault?.code ?? 0} ${report.fault?.message ?? ''}`);
          } finally {
            await fx.close();
          }
        });
      }
    }
  });
}
