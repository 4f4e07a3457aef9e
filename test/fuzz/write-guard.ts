// Keeps the fuzzer's writes in its sandbox. A random or mutated Record can decode into a Set, Add, Delete or
// Operate that disables the fuzzer's own Controller, moves the agent to another broker or reconnects it: the
// agent would be right to obey, and every check after it would fail for no bug. So each input is decoded the way
// the agent decodes it (the same generated protobuf code, the same path parser) and one whose write reaches
// outside the sandbox is not sent. Inputs the agent cannot decode, or would refuse before looking at the paths
// (another to_id, a session context), are always sent.
//
// The sandbox: Subscriptions, async Requests, Controller and ControllerTrust.Role rows from instance 3 on (the
// fuzz Controller is Controller.1, the probe Controller.2, the built-in roles Role.1 and Role.2), the
// Device.LocalAgent. and Device.DeviceInfo. objects themselves (no command), Device.ScheduleTimer(), and InstallDU() plus
// DeploymentUnit and ExecutionUnit rows (the fuzzed agent has no catalog, so nothing is ever installed). Reference
// following (`Ref+`) is never allowed in a written path: it can lead anywhere.
import { usp, usp_record } from '../../src/usp/generated/usp.js';
import { parsePath } from '../../src/usp/path.ts';
import type { PathSegment } from '../../src/usp/path.ts';
import { FIRST_SANDBOX_INSTANCE } from './usp-messages.ts';

function name(segment: PathSegment | undefined): string | undefined {
  return segment?.kind === 'name' ? segment.name : undefined;
}

function sandboxRow(segment: PathSegment | undefined): boolean {
  return segment === undefined || (segment.kind === 'instance' && segment.instance >= FIRST_SANDBOX_INSTANCE);
}

/** Why a written path leaves the sandbox, or undefined when it stays inside (or does not parse: the agent refuses it). */
export function pathLeavesSandbox(text: string, use: 'set' | 'add' | 'delete' | 'operate'): string | undefined {
  let segments: readonly PathSegment[];
  try {
    segments = parsePath(text).segments;
  } catch {
    return undefined;
  }
  if (name(segments[0]) !== 'Device') return undefined;
  if (segments.some((s) => s.kind === 'follow')) return `${text}: reference following in a write`;
  const [, first, second, third, fourth] = segments;
  const top = name(first);
  const inside = ((): boolean => {
    if (top === 'LocalAgent') {
      const sub = name(second);
      if (segments.length === 2) return use !== 'operate';
      if (sub === 'Subscription' || sub === 'Request') return true;
      if (sub === 'Controller') return sandboxRow(third);
      if (sub === 'ControllerTrust') return name(third) === 'Role' && sandboxRow(fourth);
      return false;
    }
    if (top === 'ScheduleTimer') return use === 'operate';
    if (top === 'DeviceInfo') return segments.length === 2 && use !== 'operate';
    if (top === 'SoftwareModules') return ['InstallDU', 'DeploymentUnit', 'ExecutionUnit'].includes(name(second) ?? '');
    return false;
  })();
  return inside ? undefined : `${text}: outside the fuzzer's sandbox`;
}

/** Why the Record `bytes` would make the agent write outside the sandbox, or undefined when it would not. */
export function recordLeavesSandbox(bytes: Uint8Array, agentId: string): string | undefined {
  let msg: usp.Msg;
  try {
    const record = usp_record.Record.decode(bytes);
    if (record.toId !== agentId || record.recordType !== 'noSessionContext') return undefined;
    const payload = record.noSessionContext?.payload;
    if (!payload || payload.length === 0) return undefined;
    msg = usp.Msg.decode(payload);
  } catch {
    return undefined;
  }
  const request = msg.body?.request;
  const paths: { path: string; use: 'set' | 'add' | 'delete' | 'operate' }[] = [];
  switch (request?.reqType) {
    case 'set':
      for (const obj of request.set?.updateObjs ?? []) paths.push({ path: obj.objPath ?? '', use: 'set' });
      break;
    case 'add':
      for (const obj of request.add?.createObjs ?? []) paths.push({ path: obj.objPath ?? '', use: 'add' });
      break;
    case 'delete':
      for (const path of request.delete?.objPaths ?? []) paths.push({ path, use: 'delete' });
      break;
    case 'operate':
      paths.push({ path: request.operate?.command ?? '', use: 'operate' });
      break;
    case 'get':
    case 'getInstances':
    case 'getSupportedDm':
    case 'getSupportedProtocol':
    case 'notify':
    case 'register':
    case 'deregister':
    case undefined:
      return undefined;
  }
  for (const { path, use } of paths) {
    const why = pathLeavesSandbox(path, use);
    if (why !== undefined) return why.length > 300 ? `${why.slice(0, 300)}…` : why;
  }
  return undefined;
}
