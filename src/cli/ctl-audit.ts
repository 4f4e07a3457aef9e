// `berth ctl audit`: the agent's audit trail as a Controller reads it, a Get of Device.X_BERTH-ORG_Audit.Entry.
// (so it shows what the Controller ctl acts as may read), one line per entry, oldest first.
import type { ControllerClient } from '../controller/controller-client.ts';
import { AUDIT_TABLE } from '../datamodel/bindings/audit.ts';
import { UsageError } from './usage.ts';

export const AUDIT_HELP = `  audit [--since SEQ] [--by <endpoint-id>]              the audit trail: who changed what, and how it ended
                        (--since: entries after that sequence number; --by: that Controller's only)
`;

export interface AuditVerbOptions {
  since?: string | undefined;
  by?: string | undefined;
  json?: boolean | undefined;
  timeoutMs: number;
}

type Params = Record<string, string>;

/** One entry as a line: `12  2026-12-08T10:00:00.123Z  proto::isp  Set Device.MQTT.Client.1. (…) → Success`. */
export function formatAuditEntry(entry: Params): string {
  const args = entry['Arguments'] ? ` (${entry['Arguments']})` : '';
  const ref = entry['RefSequence'] && entry['RefSequence'] !== '0' ? ` of #${entry['RefSequence']}` : '';
  const code = entry['ErrorCode'] && entry['ErrorCode'] !== '0' ? ` ${entry['ErrorCode']}: ${entry['ErrorMessage'] ?? ''}` : '';
  // An Error's param_errs often repeat its message: shown only when they say more.
  const repeated = !(entry['Failures'] ?? '').includes('; ') && (entry['Failures'] ?? '').endsWith(`: ${entry['ErrorCode'] ?? ''} ${entry['ErrorMessage'] ?? ''}`);
  const failures = entry['Failures'] && !repeated ? ` [${entry['Failures']}]` : '';
  const affected = entry['Affected'] ? ` → ${entry['Affected']}` : '';
  const cut = entry['Truncated'] === 'true' ? ' (truncated)' : '';
  const what = `${entry['Message'] ?? '?'}${ref} ${(entry['Paths'] ?? '').split(',').join(' ')}${args}`;
  return `#${entry['Sequence'] ?? '?'}  ${entry['Time'] ?? ''}  ${entry['Controller'] ?? ''}  ${what}  ${entry['Outcome'] ?? '?'}${code}${failures}${affected}${cut}`;
}

export async function runAuditVerb(controller: ControllerClient, options: AuditVerbOptions, out: { line(text: string): void; json(value: unknown): void }): Promise<number> {
  const since = options.since === undefined ? 0 : Number(options.since);
  if (!Number.isSafeInteger(since) || since < 0) throw new UsageError(`--since takes a sequence number, not '${options.since ?? ''}'`);
  const resp = (await controller.request({ get: { paramPaths: [AUDIT_TABLE], maxDepth: 0 } }, { timeoutMs: options.timeoutMs })).getResp!;
  const result = resp.reqPathResults?.[0];
  if ((result?.errCode ?? 0) !== 0) {
    out.line(`${AUDIT_TABLE}: error ${result?.errCode ?? 0}: ${result?.errMsg ?? ''}`);
    return 1;
  }
  const entries = (result?.resolvedPathResults ?? [])
    .map((r) => r.resultParams ?? {})
    .filter((p) => Number(p['Sequence']) > since && (options.by === undefined || p['Controller'] === options.by))
    .sort((a, b) => Number(a['Sequence']) - Number(b['Sequence']));
  if (options.json) {
    out.json(entries);
    return 0;
  }
  if (entries.length === 0) out.line('no audit entries');
  for (const entry of entries) out.line(formatAuditEntry(entry));
  return 0;
}
