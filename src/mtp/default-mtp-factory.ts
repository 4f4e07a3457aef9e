// The MTP adapters berth ships: mqtt.js for MQTT, its own STOMP 1.2 client, `ws` for WebSocket.
import { createMqttMtp } from './mqtt.ts';
import { createStompMtp } from './stomp/stomp-mtp.ts';
import { createWebSocketClientMtp } from './websocket/websocket-client.ts';
import { createWebSocketServerMtp } from './websocket/websocket-server.ts';
import type { MtpFactory } from './mtp-manager.ts';

export const defaultMtpFactory: MtpFactory = {
  mqtt: createMqttMtp,
  stomp: createStompMtp,
  webSocketClient: createWebSocketClientMtp,
  webSocketServer: createWebSocketServerMtp,
};
