// A process's resident memory, read from /proc, for the benchmarks that run the agent as a separate process.
import { readFile } from 'node:fs/promises';

/**
 * VmRSS in MiB, and its split into RssAnon (the process's own memory) and RssFile (mapped files, mostly the node
 * binary's pages, shared), read at the same moment.
 */
export async function residentMemory(pid: number): Promise<{ mib: number; parts: string }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const mibOf = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 'NaN') / 1024;
  return { mib: mibOf('VmRSS'), parts: `anonymous ${mibOf('RssAnon').toFixed(1)} MiB + files ${mibOf('RssFile').toFixed(1)} MiB` };
}

export async function rssMiB(pid: number): Promise<number> {
  return (await residentMemory(pid)).mib;
}

/** The largest resident mappings of a process (BENCH_SMAPS=1: where the memory is). */
export async function largestMappings(pid: number): Promise<string> {
  const text = await readFile(`/proc/${pid}/smaps`, 'utf8');
  const mappings: { name: string; rss: number }[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) current = header[1] || '[anon]';
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) mappings.push({ name: current, rss: Number(rss[1]) });
  }
  const byName = new Map<string, number>();
  for (const m of mappings) byName.set(m.name, (byName.get(m.name) ?? 0) + m.rss);
  return [...byName].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([name, kib]) => `${name.split('/').pop()} ${(kib / 1024).toFixed(1)}`).join(', ');
}
