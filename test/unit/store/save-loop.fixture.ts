// Helper process for state-store.test.ts: saves ever-newer states until it is killed. It prints
// "saving" once the first save is on disk, so the test kills it mid-loop however slow start-up is.
import { createJsonStateStore } from '../../../src/store/state-store.ts';

const store = createJsonStateStore<{ n: number; padding: string }>(process.argv[2]!);
await store.save({ n: 0, padding: 'x'.repeat(10_000) });
process.stdout.write('saving\n');
for (let n = 1; ; n++) await store.save({ n, padding: 'x'.repeat(10_000) });
