// berth's firewall rules for one app network, as iptables-restore gets them, and how its own rules are found
// again in `iptables -S` output (nft and legacy print the comment with or without quotes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { networkRules, ruleOwners } from '../../../src/runtime/network-firewall.ts';

test('networkRules: the host never; the own network and replies pass on to Docker; egress as allowed; the rest dropped', () => {
  const tag = '-m comment --comment "berth:berth-apps-cam"';
  assert.deepEqual(networkRules('berth-apps-cam', 'br-0123456789ab', { allow: [], deny: [], others: false }), [
    `-A BERTH-INPUT -i br-0123456789ab -m conntrack --ctstate RELATED,ESTABLISHED ${tag} -j RETURN`,
    `-A BERTH-INPUT -i br-0123456789ab ${tag} -j DROP`,
    `-A BERTH-FORWARD -i br-0123456789ab -o br-0123456789ab ${tag} -j RETURN`,
    `-A BERTH-FORWARD -i br-0123456789ab -m conntrack --ctstate RELATED,ESTABLISHED ${tag} -j RETURN`,
    `-A BERTH-FORWARD -i br-0123456789ab ${tag} -j DROP`,
  ]);
  const internet = networkRules('n', 'br-x', { allow: ['192.168.1.0/24'], deny: ['10.0.0.0/8'], others: true });
  assert.deepEqual(internet.slice(4), [
    '-A BERTH-FORWARD -i br-x -d 192.168.1.0/24 -m comment --comment "berth:n" -j RETURN',
    '-A BERTH-FORWARD -i br-x -d 10.0.0.0/8 -m comment --comment "berth:n" -j DROP',
    '-A BERTH-FORWARD -i br-x -m comment --comment "berth:n" -j RETURN',
  ]);
});

test('ruleOwners: berth\'s rules by network, whatever the quoting; other rules and the jumps are not berth networks\'', () => {
  const listing = [
    '-N BERTH-INPUT',
    '-A BERTH-INPUT -i br-1 -m comment --comment "berth:berth-a-x" -j DROP',
    '-A BERTH-INPUT -i br-2 -m comment --comment berth:berth-b-y -j DROP',
    '-A BERTH-INPUT -i br-3 -m comment --comment "berth: app network isolation" -j DROP',
    '-A BERTH-INPUT -i br-4 -j DROP',
    '',
  ].join('\n');
  assert.deepEqual(ruleOwners(listing).map((r) => r.network), ['berth-a-x', 'berth-b-y']);
});
