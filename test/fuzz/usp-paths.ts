// Path generators for the fuzzer: paths into berth's own data model (datamodel/, so they reach real objects and
// parameters), in every form the grammar allows (instance numbers, wildcards, search expressions, unique-key
// addressing, reference following), and hostile ones (deep wildcards, malformed or huge search expressions,
// odd instance numbers, bytes the grammar forbids, very long names). Pure: a Prng in, strings out.
import { berthModel } from '../../datamodel/index.ts';
import type { ObjectDecl } from '../../src/datamodel/schema.ts';
import type { Prng } from './prng.ts';

interface SupportedObject {
  /** 'Device.LocalAgent.Controller.{i}.' */
  readonly path: string;
  readonly decl: ObjectDecl;
}

const OBJECTS: readonly SupportedObject[] = Object.entries(berthModel).map(([path, decl]) => ({ path, decl }));
const NAMES: readonly string[] = [...new Set(OBJECTS.flatMap(({ path, decl }) => [
  ...path.split('.').filter((s) => s !== '' && s !== '{i}'),
  ...Object.keys(decl.params ?? {}),
]))];

export function supportedObjects(): readonly SupportedObject[] {
  return OBJECTS;
}

export function objectDecl(supportedPath: string): ObjectDecl | undefined {
  return berthModel[supportedPath];
}

const COMPARISONS = ['==', '!=', '<', '>', '<=', '>=', '~='] as const;

function searchConstant(rng: Prng): string {
  return rng.pick([
    'true', 'false', '0', '1', '-1', '4294967296', '1.5', '2021-06-06T08:00:00Z', '08',
    '"proto::fuzz"', '""', '"%22"', '"%"', '"%zz"', `"${'x'.repeat(rng.pick([10, 300, 5000]))}"`, 'proto::fuzz', '"a"',
  ]);
}

/** A search expression `[...]`: well-formed over real parameter names, or subtly and grossly malformed. */
export function searchExpression(rng: Prng, params: readonly string[]): string {
  const name = (): string => (params.length > 0 && rng.chance(0.8) ? rng.pick(params) : rng.pick(NAMES));
  const term = (): string => `${rng.chance(0.15) ? `${name()}+.` : ''}${name()}${rng.pick(COMPARISONS)}${searchConstant(rng)}`;
  const kind = rng.weighted<string>([[6, 'valid'], [1, 'many-terms'], [2, 'malformed'], [1, 'nested']]);
  switch (kind) {
    case 'valid':
      return `[${Array.from({ length: rng.between(1, 3) }, term).join(rng.pick(['&&', ' && ']))}]`;
    case 'many-terms':
      return `[${Array.from({ length: rng.pick([50, 1000]) }, term).join('&&')}]`;
    case 'nested':
      return `${'['.repeat(rng.pick([2, 100, 10_000]))}${term()}${']'.repeat(rng.int(3))}`;
    default:
      return rng.pick(['[', ']', '[]', '[==]', '[Enable==]', '[==true]', '[Enable=true]', '[Enable==true', '[Enable==true&&]', '[&&]', '["x"==Enable]', '[Enable==tr"ue]', '[Enable== true ]', `[${name()}===1]`]);
  }
}

/** An instance segment for a table: a row number (real ones are small), `*`, a search expression or an odd number. */
function instanceSegment(rng: Prng, table: ObjectDecl | undefined): string {
  const params = Object.keys(table?.params ?? {});
  return rng.weighted<string>([
    [5, String(rng.between(1, 4))],
    [3, '*'],
    [3, searchExpression(rng, params)],
    [1, rng.pick(['0', '01', '-1', '+1', '4294967295', '4294967296', '999999999999999', '9999999999999999', '1e3', '0x1', ' 1'])],
  ]);
}

/**
 * A path into the supported model: an object path (ending in '.'), a parameter, a command `()` or an event `!`,
 * with each `{i}` replaced by an instance segment (or left as `{i}` for GetSupportedDM).
 */
export function modelPath(rng: Prng, options: { kind?: 'object' | 'param' | 'command' | 'event' | 'any'; placeholders?: boolean } = {}): string {
  const { path, decl } = rng.pick(OBJECTS);
  const parts = path.split('.').filter((s) => s !== '');
  let built = '';
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === '{i}') {
      const tablePath = `${parts.slice(0, i + 1).join('.')}.`;
      built += options.placeholders && rng.chance(0.6) ? '{i}.' : `${instanceSegment(rng, objectDecl(tablePath))}.`;
    } else {
      built += `${part}.`;
    }
  }
  // A table path without its last '{i}.' is the table itself (Add, GetInstances).
  if (path.endsWith('{i}.') && rng.chance(0.3)) built = built.slice(0, built.lastIndexOf('.', built.length - 2) + 1);
  const kind = options.kind ?? 'any';
  const params = Object.keys(decl.params ?? {});
  const commands = Object.keys(decl.commands ?? {});
  const events = Object.keys(decl.events ?? {});
  const choice = kind !== 'any' ? kind : rng.weighted<string>([[4, 'object'], [4, 'param'], [1, 'command'], [1, 'event']]);
  if (choice === 'param' && params.length > 0) return `${built}${rng.pick(params)}`;
  if (choice === 'command' && commands.length > 0) return `${built}${rng.pick(commands)}`;
  if (choice === 'event' && events.length > 0) return `${built}${rng.pick(events)}`;
  return built;
}

/** Paths that stress the resolver and the grammar rather than name something. */
export function hostilePath(rng: Prng): string {
  const kind = rng.weighted<string>([
    [3, 'deep-wildcards'], [2, 'reference-following'], [2, 'bad-syntax'], [2, 'long'], [1, 'device'], [1, 'unicode'], [1, 'random'],
  ]);
  switch (kind) {
    case 'deep-wildcards':
      return rng.pick([
        'Device.LocalAgent.Controller.*.MTP.*.MQTT.',
        'Device.LocalAgent.Controller.*.BootParameter.*.',
        'Device.LocalAgent.ControllerTrust.Role.*.Permission.*.Targets',
        `Device.${'*.'.repeat(rng.pick([1, 5, 50, 1000]))}`,
        `Device.LocalAgent.${'Controller.*.'.repeat(rng.pick([2, 20, 500]))}`,
        'Device.SoftwareModules.ExecutionUnit.*.AutoRestart.',
        'Device.*.*.*.Enable',
      ]);
    case 'reference-following':
      return rng.pick([
        'Device.LocalAgent.Subscription.*.Recipient+.EndpointID',
        'Device.LocalAgent.Controller.*.AssignedRole#*+.Name',
        'Device.LocalAgent.Controller.*.AssignedRole#99+.',
        'Device.LocalAgent.Controller.*.MTP.*.MQTT.AgentMTPReference+.MQTT.Reference+.',
        'Device.LocalAgent.MTP.*.MQTT.Reference+.Stats.',
        `Device.LocalAgent.Subscription.*.${'Recipient+.'.repeat(rng.pick([2, 50]))}EndpointID`,
        'Device.LocalAgent.Controller.[AssignedRole+.Name=="Full Access"].EndpointID',
        'Device.LocalAgent.Controller.*.AssignedRole#0+.',
        'Device.LocalAgent.Controller.*.Enable+.',
      ]);
    case 'bad-syntax':
      return rng.pick([
        '', '.', 'Device', 'Device..', 'Device..LocalAgent.', '.Device.', 'Device.3.', 'Device.LocalAgent.Controller.1.2.',
        'Device.LocalAgent.Controller.{i}.', 'Device.LocalAgent.Controller.**.', 'Device.LocalAgent.Controller.*', 'Device.ScheduleTimer',
        'Device.ScheduleTimer()()', 'Device.Boot!!', 'Device.LocalAgent.EndpointID.', 'Device.LocalAgent.Controller.1+.',
        'Device.LocalAgent.Controller.#1+.', 'Device.LocalAgent.Controller.1.EndpointID+', 'Device.Local Agent.', 'Device.LocalAgent.\t',
        'Device.-X.', 'Device.X_EXAMPLE-COM_Thing.', 'device.localagent.', 'Device.LocalAgent.Controller.[].', 'Device.%00.',
      ]);
    case 'long':
      return rng.pick([
        `Device.${'A'.repeat(rng.pick([256, 65_536, 65_537, 200_000]))}.`,
        `Device.${'LocalAgent.'.repeat(rng.pick([100, 7000]))}`,
        `Device.LocalAgent.Controller.${'9'.repeat(rng.pick([16, 1000]))}.`,
        `Device.LocalAgent.Controller.[EndpointID=="${'x'.repeat(rng.pick([1000, 70_000]))}"].`,
      ]);
    case 'device':
      return rng.pick(['Device.', 'Device.LocalAgent.', 'Device.SoftwareModules.', 'Device.DeviceInfo.']);
    case 'unicode':
      return rng.pick(['Device.LocalÄgent.', 'Device.\u0000.', 'Device.\u202eLocalAgent.', 'Device.🙂.', 'Device.\ud800.', 'Déviçe.']);
    default:
      return Array.from({ length: rng.between(1, 6) }, () => (rng.chance(0.7) ? rng.pick(NAMES) : String.fromCharCode(...rng.bytes(rng.between(1, 8))))).join('.');
  }
}

/** Any path: mostly real ones, some hostile. */
export function anyPath(rng: Prng, options: { placeholders?: boolean; kind?: 'object' | 'param' | 'command' | 'event' | 'any' } = {}): string {
  return rng.chance(0.75) ? modelPath(rng, options) : hostilePath(rng);
}
