// Device.STOMP. — the STOMP broker connections the agent's STOMP MTPs use (TR-181 2.19.1, tr-181-2-stomp.xml).
import { defineModel } from '../src/datamodel/schema.ts';

/** Rows of Device.STOMP.Connection.: each is one TCP connection to a broker. */
export const MAX_STOMP_CONNECTIONS = 4;

export const stompModel = defineModel({
  'Device.STOMP.': {
    params: { ConnectionNumberOfEntries: { type: 'unsignedInt' } },
  },
  'Device.STOMP.Connection.{i}.': {
    access: 'readWrite',
    note: "Seeded from the config's stomp key; Controllers may add more (a second broker) and write every parameter: a write reconnects with the new settings. A Set that moves a connection with a Password to another Host or Port, or sets EnableEncryption from true to false, fails with 7014 unless it writes Password too; with TLS from the config, no Password goes over a connection without it (README: Secrets).",
    persistent: true,
    maxRows: MAX_STOMP_CONNECTIONS,
    uniqueKeys: [['Alias']],
    enableParameter: 'Enable',
    params: {
      Alias: { type: 'string', access: 'writeOnceReadOnly', maxLength: 64 },
      Enable: { type: 'boolean', access: 'readWrite', default: 'false' },
      Status: { type: 'string', enum: ['Enabled', 'Disabled', 'Unknown', 'Connecting', 'ServerNotPresent', 'Error_Misconfigured', 'Error_AuthenticationFailure', 'Error'] },
      LastChangeDate: { type: 'dateTime' },
      Host: { type: 'string', access: 'readWrite', maxLength: 256 },
      Port: { type: 'unsignedInt', access: 'readWrite', range: { min: 1, max: 65535 }, default: '61613' },
      Username: { type: 'string', access: 'readWrite', maxLength: 256 },
      Password: { type: 'string', access: 'readWrite', maxLength: 256, secured: true },
      VirtualHost: { type: 'string', access: 'readWrite', maxLength: 256, default: '' },
      EnableHeartbeats: { type: 'boolean', access: 'readWrite', default: 'false' },
      OutgoingHeartbeat: { type: 'unsignedInt', access: 'readWrite', default: '0', note: 'Milliseconds.' },
      IncomingHeartbeat: { type: 'unsignedInt', access: 'readWrite', default: '0', note: 'Milliseconds; a broker silent for twice the negotiated interval is dropped and reconnected.' },
      // Seconds.
      ServerRetryInitialInterval: { type: 'unsignedInt', access: 'readWrite', range: { min: 1, max: 65535 }, default: '60' },
      ServerRetryIntervalMultiplier: { type: 'unsignedInt', access: 'readWrite', range: { min: 1000, max: 65535 }, default: '2000' },
      ServerRetryMaxInterval: { type: 'unsignedInt', access: 'readWrite', range: { min: 1 }, default: '30720' },
      IsEncrypted: { type: 'boolean' },
      EnableEncryption: { type: 'boolean', access: 'readWrite', default: 'true' },
    },
  },
});
