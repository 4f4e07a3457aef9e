// berth's iptables rules of networks a test (or benchmark) removes by hand: `docker network rm` leaves them, and
// leftovers would show up as another test's reconciliation work. Removed as the agent would (release).
import { spawnSync } from 'node:child_process';

export function removeFirewallRules(networks: readonly string[]): void {
  if (networks.length === 0) return;
  const lines = ['BERTH-INPUT', 'BERTH-FORWARD'].flatMap((chain) => spawnSync('iptables', ['-w', '-S', chain], { encoding: 'utf8' }).stdout?.split('\n') ?? []);
  const doomed = lines.filter((line) => line.startsWith('-A ') && networks.some((network) => line.includes(`"berth:${network}"`)));
  if (doomed.length === 0) return;
  spawnSync('iptables-restore', ['-w', '--noflush'], { input: ['*filter', ...doomed.map((line) => line.replace(/^-A /, '-D ')), 'COMMIT', ''].join('\n'), encoding: 'utf8' });
}
