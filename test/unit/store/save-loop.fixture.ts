// Helper process for state-store.test.ts: saves ever-newer states until it is killed.
import { createJsonStateStore } from '../../../src/store/state-store.ts';

const store = createJsonStateStore<{ n: number; padding: string }>(process.argv[2]!);
for (let n = 0; ; n++) await store.save({ n, padding: 'x'.repeat(10_000) });
