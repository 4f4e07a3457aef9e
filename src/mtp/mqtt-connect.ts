// Opens an mqtt.js client without mqtt.js's connect(), which loads every transport it knows (WebSocket,
// TLS, SOCKS, browser ones) on first use: about 10 MiB of resident memory a gateway agent never needs.
// Plain TCP costs only `net`; `tls` is loaded for mqtts://; ws:// and wss:// fall back to mqtt.js's own
// connect(), loaded only then.
import { createConnection } from 'node:net';
import type { IClientOptions, MqttClient as MqttClientType } from 'mqtt';
import * as clientModule from 'mqtt/lib/client';

// The CommonJS module's `exports.default` arrives as the ESM namespace's `default` property.
const MqttClient = (clientModule.default).default;

export async function openMqttClient(url: string, options: IClientOptions): Promise<MqttClientType> {
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  switch (parsed.protocol) {
    case 'mqtt:':
    case 'tcp:': {
      const port = Number(parsed.port || 1883);
      return new MqttClient(() => createConnection({ host, port }), { ...options, host, port, protocol: 'mqtt' });
    }
    case 'mqtts:':
    case 'ssl:':
    case 'tls:': {
      const { connect: tlsConnect } = await import('node:tls');
      const port = Number(parsed.port || 8883);
      return new MqttClient(
        () =>
          tlsConnect({
            host,
            port,
            servername: /^[0-9.]+$|:/.test(host) ? undefined : host,
            ...(options.ca !== undefined && { ca: options.ca }),
            ...(options.cert !== undefined && { cert: options.cert }),
            ...(options.key !== undefined && { key: options.key as Buffer }),
            rejectUnauthorized: options.rejectUnauthorized ?? true,
          }),
        { ...options, host, port, protocol: 'mqtts' },
      );
    }
    default: {
      const { connect } = await import('mqtt');
      return connect(url, options);
    }
  }
}
