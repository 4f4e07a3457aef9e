// Opens the one wire ctl-connection.ts chose and puts a Controller session on it. Failures say what was tried and,
// where ctl can tell, what to change (a certificate the agent refused, an agent that did not dial in).
import { connectController } from '../controller/controller-client.ts';
import { createControllerSession } from '../controller/controller-session.ts';
import type { ControllerClient, ControllerWire } from '../controller/controller-session.ts';
import { connectStompWire } from '../controller/stomp-wire.ts';
import { dialAgentWebSocket, listenForAgentWebSocket } from '../controller/websocket-wires.ts';
import type { CtlConnection } from './ctl-connection.ts';

export async function openCtlConnection(connection: CtlConnection, timeoutMs: number): Promise<ControllerClient> {
  switch (connection.wire) {
    case 'mqtt':
      return connectController(connection.options);
    case 'stomp': {
      const wire = await connectStompWire(connection.options).catch((error: unknown) => {
        throw new Error(`cannot connect to the STOMP broker at ${connection.options.brokerUrl}: ${messageOf(error)}`);
      });
      return createControllerSession(wire, connection.ids);
    }
    case 'websocket-dial': {
      const { url, ids, tls } = connection;
      const wire = await dialAgentWebSocket({ url, endpointId: ids.endpointId, ...tls }).catch((error: unknown) => {
        throw new Error(refusalHint(messageOf(error), ids.endpointId, tls.certFile));
      });
      return createControllerSession(wire, ids);
    }
    case 'websocket-listen':
      return createControllerSession(await agentSession(connection, timeoutMs), connection.ids);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The agent's server answers 401 for a missing or untrusted certificate, 403 for one that does not speak for the eid. */
export function refusalHint(message: string, endpointId: string, certFile: string | undefined): string {
  if (/HTTP 401\b/.test(message)) {
    return certFile === undefined
      ? `${message}: the agent wants a Controller certificate; give ctl ${endpointId}'s with --cert and --cert-key`
      : `${message}: the agent does not trust ${certFile} (it must be signed by a CA of the agent's websocket.caFile)`;
  }
  if (/HTTP 403\b/.test(message)) {
    return `${message}: the agent does not admit ${endpointId} on this session (its certificate must name urn:bbf:usp:id:${endpointId}, and the Controller must be one the agent has, enabled)`;
  }
  return message;
}

async function agentSession(connection: Extract<CtlConnection, { wire: 'websocket-listen' }>, timeoutMs: number): Promise<ControllerWire> {
  const { url, host, port, path, tls, requireClientCertificate, ids } = connection;
  const server = await listenForAgentWebSocket({ host, port, path, agentEndpointId: ids.agentEndpointId, requireClientCertificate, ...tls }).catch((error: unknown) => {
    throw new Error(`cannot listen for the agent on ${url}: ${messageOf(error)}`);
  });
  try {
    return await server.session(timeoutMs);
  } catch {
    await server.close();
    throw new Error(
      `the agent ${ids.agentEndpointId} did not open a WebSocket session to ${url} within ${timeoutMs / 1000} s: ` +
        `is it ${ids.endpointId}'s websocket url in the agent's config? The agent retries with back-off (controllers[].websocket.retryMinimumWaitSeconds): a longer --timeout may catch it`,
    );
  }
}
