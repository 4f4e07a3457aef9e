// MQTT Topic Filter syntax, as a Controller writing Subscription.{i}.Topic meets it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { topicFilterProblem } from '../../../src/usp/mqtt-topic-filter.ts';

test('valid topic filters pass: plain, wildcards as whole levels, empty levels, shared subscriptions', () => {
  for (const filter of ['usp/agent/x', 'a/+/b', '+', '#', 'a/#', '/leading', 'a//b', 'sport/tennis/+/#', '$SYS/broker/#', '$share/group/usp/+', 'héllo/wörld']) {
    assert.equal(topicFilterProblem(filter), undefined, filter);
  }
});

test('invalid topic filters are refused with the rule they break', () => {
  const cases: [string, RegExp][] = [
    ['', /cannot be empty/],
    ['a/#/b', /'#' must be a whole level and the last one/],
    ['a/b#', /'#' must be a whole level/],
    ['a+/b', /'\+' must be a whole level/],
    ['a/+b', /'\+' must be a whole level/],
    ['a\u0000b', /null character/],
    ['x'.repeat(65_536), /at most 65535 bytes/],
    ['é'.repeat(40_000), /at most 65535 bytes/], // 80,000 bytes of UTF-8 in 40,000 characters
    ['$share/group', /shared subscription/],
    ['$share//topic', /shared subscription/],
    ['$share/gr+oup/topic', /shared subscription/],
    ['$share/group/a/#/b', /'#' must be a whole level/],
  ];
  for (const [filter, message] of cases) assert.match(topicFilterProblem(filter) ?? 'accepted', message, filter.slice(0, 40));
});
