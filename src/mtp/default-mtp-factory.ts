// The MTP adapters berth ships: mqtt.js for MQTT, its own STOMP 1.2 client, `ws` for WebSocket. The STOMP and
// WebSocket adapters are loaded the first time a row needs them (prepare): an agent that speaks only MQTT does not
// carry them (nor `ws`, node:https and node:tls), which is ~4 MiB of its idle memory (npm run bench:usp).
import { createMqttMtp } from './mqtt.ts';
import type { MtpFactory } from './mtp-manager.ts';
import type { createStompMtp as CreateStompMtp } from './stomp/stomp-mtp.ts';
import type { createWebSocketClientMtp as CreateWebSocketClientMtp } from './websocket/websocket-client.ts';
import type { createWebSocketServerMtp as CreateWebSocketServerMtp } from './websocket/websocket-server.ts';

let createStompMtp: typeof CreateStompMtp | undefined;
let createWebSocketClientMtp: typeof CreateWebSocketClientMtp | undefined;
let createWebSocketServerMtp: typeof CreateWebSocketServerMtp | undefined;

const notLoaded = (protocol: string): Error => new Error(`the ${protocol} MTP adapter was used before prepare('${protocol}') loaded it`);

export const defaultMtpFactory: MtpFactory = {
  async prepare(protocol) {
    if (protocol === 'STOMP' && !createStompMtp) ({ createStompMtp } = await import('./stomp/stomp-mtp.ts'));
    if (protocol === 'WebSocket' && !createWebSocketServerMtp) {
      ({ createWebSocketClientMtp } = await import('./websocket/websocket-client.ts'));
      ({ createWebSocketServerMtp } = await import('./websocket/websocket-server.ts'));
    }
  },
  mqtt: createMqttMtp,
  stomp: (options, events, logger) => {
    if (!createStompMtp) throw notLoaded('STOMP');
    return createStompMtp(options, events, logger);
  },
  webSocketClient: (options, events, logger) => {
    if (!createWebSocketClientMtp) throw notLoaded('WebSocket');
    return createWebSocketClientMtp(options, events, logger);
  },
  webSocketServer: (options, events, logger) => {
    if (!createWebSocketServerMtp) throw notLoaded('WebSocket');
    return createWebSocketServerMtp(options, events, logger);
  },
};
