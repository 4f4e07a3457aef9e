// MQTT Topic Filter syntax (MQTT 3.1.1 §4.7, MQTT 5.0 §4.7, §4.8.2 shared subscriptions), checked when a
// Controller writes Device.MQTT.Client.{i}.Subscription.{i}.Topic: a filter the broker would refuse, or that
// mqtt.js would not even send, is refused at once with a message that says why.

/** MQTT strings are at most 65,535 bytes of UTF-8. */
const MAX_TOPIC_BYTES = 65_535;

/** Why `filter` is not a valid MQTT Topic Filter, or undefined when it is. */
export function topicFilterProblem(filter: string): string | undefined {
  if (filter === '') return 'a topic filter cannot be empty';
  if (Buffer.byteLength(filter, 'utf8') > MAX_TOPIC_BYTES) return `a topic filter is at most ${MAX_TOPIC_BYTES} bytes of UTF-8`;
  if (filter.includes('\u0000')) return 'a topic filter cannot contain the null character';
  const levels = filter.split('/');
  if (levels[0] === '$share') {
    const shareName = levels[1] ?? '';
    if (levels.length < 3 || shareName === '' || /[+#]/.test(shareName)) return "a shared subscription is '$share/<share name>/<topic filter>', the share name without '+' or '#'";
    return levelsProblem(levels.slice(2));
  }
  return levelsProblem(levels);
}

function levelsProblem(levels: readonly string[]): string | undefined {
  for (const [index, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || index !== levels.length - 1)) return "'#' must be a whole level and the last one ('a/#')";
    if (level.includes('+') && level !== '+') return "'+' must be a whole level ('a/+/b')";
  }
  return undefined;
}
