// Bindings for the MTP rows: Device.LocalAgent.MTP.{i} (and its MQTT/STOMP/WebSocket objects),
// Device.LocalAgent.Controller.{i}.MTP.{j}, Device.STOMP.Connection.{i}. What they show comes from the MTP
// manager; any change to them (or to a Controller: its sessions and WebSocket clients) makes the manager rebuild
// what changed. Device.MQTT. has its own bindings (mqtt.ts).
import type { Registry } from '../registry.ts';
import type { DmObject } from '../instances.ts';
import type { DataModel } from '../data-model.ts';
import { toDateTime, UNKNOWN_TIME } from '../../usp/values.ts';
import { ErrorCode, UspError } from '../../usp/errors.ts';
import { refuseCredentialExposure, STOMP_CONNECTION_ROW } from './broker-credentials.ts';

export interface MtpRuntime {
  agentMtpStatus(row: DmObject): 'Up' | 'Down' | 'Error';
  responseTopicDiscovered(row: DmObject): string;
  destinationFromServer(row: DmObject): string;
  stompStatus(connection: DmObject): string;
  /** ms since the epoch, 0: never. */
  stompLastChange(connection: DmObject): number;
  stompIsEncrypted(connection: DmObject): boolean;
  /** The config file gave this STOMP connection TLS: its password never goes over a connection without. */
  stompTlsRequired(connection: DmObject): boolean;
  /** `webSocket`: a Controller.{i}.MTP.{j}.WebSocket. object. */
  webSocketRetryCount(webSocket: DmObject): number;
  webSocketReset(webSocket: DmObject): void;
  /** An MTP row, a row it references, or a Controller changed: apply it. */
  changed(): void;
}

/** The row's path when it is a row of `table`; else why the reference is wrong. */
function checkReference(dm: DataModel, obj: DmObject, name: string, table: string): void {
  const value = dm.read(obj, name);
  if (value === '') return;
  const row = dm.lookup(value.endsWith('.') ? value : `${value}.`);
  if (!row || row.table?.path !== table) throw new UspError(ErrorCode.InvalidValue, `${obj.path}${name}: '${value}' is not a row of ${table}`);
}

export function bindMtps(registry: Registry, runtime: MtpRuntime, dm: () => DataModel): void {
  const changed = (): void => { runtime.changed(); };
  const rowEvents = { onAdded: changed, onDeleted: changed, onChanged: changed };

  registry.bindObject('Device.LocalAgent.', { get: { SupportedProtocols: () => 'MQTT,STOMP,WebSocket' } });
  registry.bindObject('Device.LocalAgent.MTP.{i}.', {
    get: { Status: (row) => (dm().read(row, 'Enable') === 'true' ? runtime.agentMtpStatus(row) : 'Down') },
    ...rowEvents,
  });
  registry.bindObject('Device.LocalAgent.MTP.{i}.MQTT.', {
    get: { ResponseTopicDiscovered: (obj) => runtime.responseTopicDiscovered(obj.parent!) },
    validate: (obj) => { checkReference(dm(), obj, 'Reference', 'Device.MQTT.Client.'); },
    onChanged: changed,
  });
  registry.bindObject('Device.LocalAgent.MTP.{i}.STOMP.', {
    get: { DestinationFromServer: (obj) => runtime.destinationFromServer(obj.parent!) },
    validate: (obj) => { checkReference(dm(), obj, 'Reference', 'Device.STOMP.Connection.'); },
    onChanged: changed,
  });
  registry.bindObject('Device.LocalAgent.MTP.{i}.WebSocket.', { onChanged: changed });

  registry.bindObject('Device.LocalAgent.Controller.{i}.', rowEvents);
  registry.bindObject('Device.LocalAgent.Controller.{i}.MTP.{i}.', rowEvents);
  registry.bindObject('Device.LocalAgent.Controller.{i}.MTP.{i}.MQTT.', {
    validate: (obj) => { checkReference(dm(), obj, 'AgentMTPReference', 'Device.LocalAgent.MTP.'); },
    onChanged: changed,
  });
  registry.bindObject('Device.LocalAgent.Controller.{i}.MTP.{i}.STOMP.', {
    validate: (obj) => { checkReference(dm(), obj, 'Reference', 'Device.STOMP.Connection.'); },
    onChanged: changed,
  });
  registry.bindObject('Device.LocalAgent.Controller.{i}.MTP.{i}.WebSocket.', {
    get: { CurrentRetryCount: (obj) => String(runtime.webSocketRetryCount(obj)) },
    onChanged: changed,
  });
  registry.bindCommand('Device.LocalAgent.Controller.{i}.MTP.{i}.WebSocket.Reset()', ({ obj }) => {
    runtime.webSocketReset(obj);
    return {};
  });

  registry.bindObject('Device.STOMP.Connection.{i}.', {
    get: {
      Status: (connection) => runtime.stompStatus(connection),
      LastChangeDate: (connection) => {
        const at = runtime.stompLastChange(connection);
        return at === 0 ? UNKNOWN_TIME : toDateTime(new Date(at));
      },
      IsEncrypted: (connection) => String(runtime.stompIsEncrypted(connection)),
    },
    validate(connection, previous) {
      refuseCredentialExposure(STOMP_CONNECTION_ROW, dm(), connection, previous, runtime.stompTlsRequired(connection));
    },
    ...rowEvents,
  });
}
