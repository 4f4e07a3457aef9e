// The MTP adapters berth ships: mqtt.js for MQTT, its own STOMP 1.2 client, `ws` for WebSocket.
import { createMqttMtp } from './mqtt.ts';
import { createStompMtp } from './stomp/stomp-mtp.ts';
import type { MtpFactory } from './mtp-manager.ts';

export const defaultMtpFactory: MtpFactory = {
  mqtt: createMqttMtp,
  stomp: createStompMtp,
  webSocketClient: () => {
    throw new Error('WebSocket client MTP: not built yet');
  },
  webSocketServer: () => {
    throw new Error('WebSocket server MTP: not built yet');
  },
};
