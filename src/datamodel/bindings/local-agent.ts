// Bindings for Device.LocalAgent.: identity, Controllers, Subscriptions, Requests, ControllerTrust (MTPs: mtps.ts).
import type { Registry } from '../registry.ts';
import type { DmObject } from '../instances.ts';
import type { DataModel } from '../data-model.ts';
import type { RequestManager } from '../../engine/requests.ts';
import { parsePath } from '../../usp/path.ts';
import { toDateTime } from '../../usp/values.ts';
import { ErrorCode, UspError, toUspMessage } from '../../usp/errors.ts';
import { randomUUID } from 'node:crypto';
import { COLUMNS, PERMISSION_STRING } from '../../access/permission-bits.ts';
import { compileTarget } from '../../access/permission-target.ts';
import { listValue } from '../../access/controller-roles.ts';
import { checkSubscribable } from '../../access/subscription-permission.ts';
import { MAX_SUBSCRIPTIONS_PER_CONTROLLER, MAX_TARGETS_PER_PERMISSION } from '../../../datamodel/local-agent.ts';

export interface LocalAgentRuntime {
  readonly endpointId: string;
  readonly softwareVersion: string;
  upTimeSeconds(): number;
  /** Late-bound: the request manager and subscription service are built after the data model is frozen. */
  requests(): RequestManager;
  sendOnBoardRequest(controller: DmObject): void;
  now(): Date;
}


// Declared with the tables they bound, so that the data-model reference (docs/data-model.md) states them.
export { MAX_SUBSCRIPTIONS_PER_CONTROLLER, MAX_TARGETS_PER_PERMISSION };

/** A reference to a row, as stored: 'Device.LocalAgent.Controller.1' (TR-181 object references have no trailing dot). */
export function referenceTo(obj: DmObject): string {
  return obj.path.slice(0, -1);
}

export function bindLocalAgent(registry: Registry, runtime: LocalAgentRuntime, dm: () => DataModel): void {
  // Role references must name rows of the Role table (TR-181 strong references).
  const checkRoleRefs = (obj: DmObject, names: readonly string[]): void => {
    const model = dm();
    for (const name of names) {
      for (const ref of listValue(model.read(obj, name))) {
        const row = model.lookup(ref);
        if (!row || row.table?.path !== 'Device.LocalAgent.ControllerTrust.Role.') throw new UspError(ErrorCode.InvalidValue, `${obj.path}${name}: '${ref}' is not a row of Device.LocalAgent.ControllerTrust.Role.`);
      }
    }
  };
  registry.bindObject('Device.LocalAgent.', {
    get: {
      EndpointID: () => runtime.endpointId,
      SoftwareVersion: () => runtime.softwareVersion,
      UpTime: () => String(runtime.upTimeSeconds()),
      SupportedFingerprintAlgorithms: () => 'SHA-256',
      SupportedNumberOfSubscriptions: () => String(dm().table('Device.LocalAgent.Subscription.').schema.decl.maxRows ?? -1),
    },
  });
  registry.bindObject('Device.LocalAgent.Controller.{i}.', {
    // InheritedRole: roles from the credential that authenticated the Controller (ControllerTrust.Credential);
    // stored by the agent, empty until an MTP authenticates Controllers by certificate.
    internal: ['InheritedRole'],
    validate(controller) {
      const endpointId = dm().read(controller, 'EndpointID');
      if (endpointId === runtime.endpointId) throw new UspError(ErrorCode.InvalidValue, `${controller.path}EndpointID: a Controller cannot use the agent's own Endpoint ID`);
      checkRoleRefs(controller, ['AssignedRole']);
    },
    onDeleted(controller) {
      // Subscription.Recipient is a strong reference: the Controller's subscriptions go with it.
      const model = dm();
      const recipient = referenceTo(controller);
      const orphans = [...model.table('Device.LocalAgent.Subscription.').rows.values()].filter((s) => model.read(s, 'Recipient') === recipient);
      if (orphans.length > 0) model.update((tx) => { orphans.forEach((s) => { tx.deleteRow(s); }); });
    },
  });
  registry.bindCommand('Device.LocalAgent.Controller.{i}.SendOnBoardRequest()', ({ obj }) => {
    runtime.sendOnBoardRequest(obj);
    return {};
  });

  registry.bindObject('Device.LocalAgent.Subscription.{i}.', {
    internal: ['Recipient', 'CreationDate'],
    initRow(subscription, ctx, tx) {
      const model = dm();
      const controller = [...model.table('Device.LocalAgent.Controller.').rows.values()].find((c) => model.read(c, 'EndpointID') === ctx.originator);
      if (controller) {
        const recipient = referenceTo(controller);
        let held = 0;
        for (const other of model.table('Device.LocalAgent.Subscription.').rows.values()) if (model.read(other, 'Recipient') === recipient) held += 1;
        if (held >= MAX_SUBSCRIPTIONS_PER_CONTROLLER) {
          throw new UspError(ErrorCode.ResourcesExceeded, `${controller.path} already holds ${held} subscriptions, the most one Controller may have; delete some first`);
        }
        tx.setInternal(subscription, 'Recipient', recipient);
      }
      tx.setInternal(subscription, 'CreationDate', toDateTime(runtime.now()));
      // ID is the Controller's to choose; when it gives none, a unique one is assigned (returned in unique_keys).
      subscription.values.set('ID', `${subscription.instance!}-${randomUUID().slice(0, 8)}`);
    },
    validate(subscription, previous, ctx, isNew) {
      const model = dm();
      if (!isNew && previous.has('ReferenceList') && (previous.get('ReferenceList') ?? '') !== '') {
        throw new UspError(ErrorCode.NotWritable, `${subscription.path}ReferenceList cannot be changed once set; delete the subscription and add a new one`);
      }
      const type = model.read(subscription, 'NotifType');
      const references = model.read(subscription, 'ReferenceList').split(',').map((s) => s.trim()).filter((s) => s !== '');
      for (const reference of references) {
        let kind;
        try {
          kind = parsePath(reference).kind;
        } catch (error) {
          throw new UspError(ErrorCode.InvalidValue, `${subscription.path}ReferenceList: '${reference}' is not a valid path: ${toUspMessage(error)}`);
        }
        const allowed: Record<string, readonly string[]> = {
          ValueChange: ['object', 'parameter'],
          ObjectCreation: ['object'],
          ObjectDeletion: ['object'],
          OperationComplete: ['object', 'command'],
          Event: ['object', 'event'],
        };
        if (type !== '' && !allowed[type]?.includes(kind)) {
          throw new UspError(ErrorCode.InvalidValue, `${subscription.path}ReferenceList: '${reference}' is a ${kind} path, which a ${type} subscription cannot use`);
        }
        if (ctx.access && type !== '') checkSubscribable(model, ctx.access, type, parsePath(reference));
      }
      if (model.read(subscription, 'Enable') === 'true' && (type === '' || references.length === 0)) {
        throw new UspError(ErrorCode.InvalidValue, `${subscription.path}: an enabled subscription needs NotifType and ReferenceList`);
      }
    },
    persistRow: (subscription) => dm().read(subscription, 'Persistent') === 'true',
  });

  registry.bindObject('Device.LocalAgent.Request.{i}.', { internal: ['Originator', 'Command', 'CommandKey', 'Status'] });
  registry.bindCommand('Device.LocalAgent.Request.{i}.Cancel()', ({ obj }) => {
    runtime.requests().cancel(obj);
    return {};
  });

  registry.bindObject('Device.LocalAgent.ControllerTrust.Role.{i}.Permission.{i}.', {
    validate(permission) {
      const model = dm();
      for (const column of COLUMNS) {
        const value = model.read(permission, column);
        if (!PERMISSION_STRING.test(value)) throw new UspError(ErrorCode.InvalidValue, `${permission.path}${column}: "${value}" is not a permission string like "rw-n" (r, w, x, n or - in that order)`);
      }
      // Every target must name something of the supported data model: a typo would silently grant or deny nothing.
      // And there are few: each is matched against every element each message touches.
      const targets = listValue(model.read(permission, 'Targets'));
      if (targets.length > MAX_TARGETS_PER_PERMISSION) throw new UspError(ErrorCode.InvalidValue, `${permission.path}Targets: ${targets.length} entries; a permission has at most ${MAX_TARGETS_PER_PERMISSION} (add another permission row for more)`);
      for (const entry of targets) {
        try {
          compileTarget(model.schemaRoot, entry);
        } catch (error) {
          throw new UspError(ErrorCode.InvalidValue, `${permission.path}Targets: ${toUspMessage(error)}`);
        }
      }
    },
  });
  registry.bindObject('Device.LocalAgent.ControllerTrust.', {
    validate(trust) {
      checkRoleRefs(trust, ['UntrustedRole', 'BannedRole', 'SecuredRoles']);
    },
  });
}
