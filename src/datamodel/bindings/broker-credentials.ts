// Where a write to a broker connection (Device.MQTT.Client.{i}., Device.STOMP.Connection.{i}.) would send its
// password. A Controller that may write the row but does not know the password (it reads back as "") could otherwise
// point the agent at its own listener, or take TLS away, and receive the password in clear at the next connect. So
// on a row with a Password, the broker's address and port change, and TLS is given up, only together with a new
// Password: a credential for the new place.
import { isTlsTransport } from '../transport-security.ts';
import type { DataModel } from '../data-model.ts';
import type { DmObject } from '../instances.ts';
import { ErrorCode, UspError } from '../../usp/errors.ts';

/** What differs between the kinds of broker row: which parameters say where the password goes, and over what. */
export interface BrokerRowKind {
  /** The parameters naming the broker (host, port). */
  readonly addressNames: readonly [string, string];
  /** The parameter that decides whether the connection runs over TLS. */
  readonly transportName: string;
  isTls(transportValue: string): boolean;
  /** What the row is called in messages ("client", "connection"). */
  readonly noun: string;
  /** The transport, as a message names it: `TCP/IP`; `a connection without TLS`. */
  describe(transportValue: string): string;
}

export const MQTT_CLIENT_ROW: BrokerRowKind = {
  addressNames: ['BrokerAddress', 'BrokerPort'],
  transportName: 'TransportProtocol',
  isTls: isTlsTransport,
  noun: 'client',
  describe: (value) => value,
};
export const STOMP_CONNECTION_ROW: BrokerRowKind = {
  addressNames: ['Host', 'Port'],
  transportName: 'EnableEncryption',
  isTls: (value) => value === 'true',
  noun: 'connection',
  describe: (value) => (value === 'true' ? 'TLS' : 'a connection without TLS'),
};

export interface BrokerRowWrite {
  /** The row's path, `Device.MQTT.Client.1.`. */
  readonly path: string;
  /** Whether this transaction wrote the parameter (even with the value it had). */
  written(name: string): boolean;
  /** The parameter's value before this transaction, secured ones included. */
  before(name: string): string;
  /** Its value now, in this transaction. */
  after(name: string): string;
  /** The config file gave this connection TLS: its password never goes over a connection without. */
  readonly tlsRequired: boolean;
}

/** Why this write would expose the row's password, or undefined when it would not. */
export function credentialExposure(kind: BrokerRowKind, write: BrokerRowWrite): string | undefined {
  const { path } = write;
  const [hostName, portName] = kind.addressNames;
  const transport = write.after(kind.transportName);
  if (write.tlsRequired && write.after('Password') !== '' && !kind.isTls(transport) && (write.written(kind.transportName) || write.written('Password'))) {
    return `${path}${kind.transportName}: the config file gives this ${kind.noun} TLS, so its Password is never sent over ${kind.describe(transport)}; to use a broker without TLS, set Password to "" as well`;
  }
  // A new password is meant for wherever the row connects now; without one, nothing is sent.
  if (write.written('Password') || write.before('Password') === '') return undefined;
  for (const name of kind.addressNames) {
    if (write.before(name) !== write.after(name)) {
      return `${path}${name} of a ${kind.noun} with a Password can only change together with Password: the password given for ${write.before(hostName)}:${write.before(portName)} is not sent to another broker`;
    }
  }
  const was = write.before(kind.transportName);
  if (kind.isTls(was) && !kind.isTls(transport)) {
    return `${path}${kind.transportName} of a ${kind.noun} with a Password can only go from ${was} to ${transport} together with Password: the password is not sent over a weaker connection than the one it was given for`;
  }
  return undefined;
}

/**
 * The validate step of a broker row: throws 7014 when this transaction's write would expose the row's password.
 * `previous`: the values the transaction overwrote (what the row's validate hook is given).
 */
export function refuseCredentialExposure(kind: BrokerRowKind, dm: DataModel, row: DmObject, previous: ReadonlyMap<string, string | undefined>, tlsRequired: boolean): void {
  const value = (name: string): string => dm.readRaw(row, row.schema.params.get(name)!);
  const exposure = credentialExposure(kind, {
    path: row.path,
    written: (name) => previous.has(name),
    // A parameter never written before had its declared default.
    before: (name) => (previous.has(name) ? (previous.get(name) ?? row.schema.params.get(name)!.decl.default ?? '') : value(name)),
    after: value,
    tlsRequired,
  });
  // 7014: the value is fine on its own; it conflicts with the Password that stays.
  if (exposure) throw new UspError(ErrorCode.ValueConflict, exposure);
}
