// Where a write to Device.MQTT.Client.{i}. would send the broker password. A Controller that may write the client
// but does not know the password (it reads back as "") could otherwise point the agent at its own listener, or take
// TLS away, and receive the password in clear at the next connect. So on a client with a Password, the broker's
// address and port change, and TLS is given up, only together with a new Password: a credential for the new place.
import { isTlsTransport } from '../mqtt-transport-security.ts';

export interface ClientWrite {
  /** The client row's path, `Device.MQTT.Client.1.`. */
  readonly path: string;
  /** Whether this transaction wrote the parameter (even with the value it had). */
  written(name: string): boolean;
  /** The parameter's value before this transaction, secured ones included. */
  before(name: string): string;
  /** Its value now, in this transaction. */
  after(name: string): string;
  /** The config file gave this client TLS: its password never goes over a connection without. */
  readonly tlsRequired: boolean;
}

/** Why this write would expose the client's password, or undefined when it would not. */
export function credentialExposure(write: ClientWrite): string | undefined {
  const { path } = write;
  const transport = write.after('TransportProtocol');
  if (write.tlsRequired && write.after('Password') !== '' && !isTlsTransport(transport) && (write.written('TransportProtocol') || write.written('Password'))) {
    return `${path}TransportProtocol: the config file gives this client TLS, so its Password is never sent over ${transport}; to use a broker without TLS, set Password to "" as well`;
  }
  // A new password is meant for wherever the client goes now; without one, nothing is sent.
  if (write.written('Password') || write.before('Password') === '') return undefined;
  for (const name of ['BrokerAddress', 'BrokerPort']) {
    if (write.before(name) !== write.after(name)) {
      return `${path}${name} of a client with a Password can only change together with Password: the password given for ${write.before('BrokerAddress')}:${write.before('BrokerPort')} is not sent to another broker`;
    }
  }
  const was = write.before('TransportProtocol');
  if (isTlsTransport(was) && !isTlsTransport(transport)) {
    return `${path}TransportProtocol of a client with a Password can only go from ${was} to ${transport} together with Password: the password is not sent over a weaker connection than the one it was given for`;
  }
  return undefined;
}
