// Reads the MTP rows of the data model (TR-181 LocalAgent.MTP.{i}, MQTT.Client.{i}, STOMP.Connection.{i},
// LocalAgent.Controller.{i}.MTP.{j}) into what the MTP manager runs. Pure: no connection is made here.
import type { DataModel } from '../datamodel/data-model.ts';
import type { DmObject } from '../datamodel/instances.ts';
import type { MtpProtocol } from './mtp.ts';

export const AGENT_MTP_TABLE = 'Device.LocalAgent.MTP.';
export const CONTROLLER_TABLE = 'Device.LocalAgent.Controller.';

/** A parameter as stored (secured values too: the MTPs need the real password). */
export function raw(dm: DataModel, obj: DmObject, name: string): string {
  return dm.readRaw(obj, obj.schema.params.get(name)!);
}

const enabled = (dm: DataModel, row: DmObject): boolean => dm.read(row, 'Enable') === 'true';

/** The row a TR-181 reference names ('Device.MQTT.Client.1'), if it exists. */
export function referenced(dm: DataModel, reference: string): DmObject | undefined {
  return reference === '' ? undefined : dm.lookup(reference.endsWith('.') ? reference : `${reference}.`);
}

/** The agent's enabled MTP rows of a protocol, in instance order. */
export function agentMtpRows(dm: DataModel, protocol?: MtpProtocol): DmObject[] {
  return [...dm.table(AGENT_MTP_TABLE).rows.values()].filter((row) => enabled(dm, row) && (protocol === undefined || dm.read(row, 'Protocol') === protocol));
}

/** One way to reach a Controller, as its MTP row says. */
export type ControllerMtp =
  | { readonly protocol: 'MQTT'; readonly row: DmObject; readonly agentMtp: DmObject; readonly topic: string }
  | { readonly protocol: 'STOMP'; readonly row: DmObject; readonly agentMtp: DmObject; readonly destination: string }
  | { readonly protocol: 'WebSocket'; readonly row: DmObject; readonly dials: boolean };

/**
 * The Controller's enabled MTPs that can carry a Record, lowest Order first (TR-181 Controller.{i}.MTP.{j}.Order).
 * An MQTT or STOMP row goes out through the agent MTP it references (AgentMTPReference, or the STOMP connection its
 * Reference names), else through the agent's first enabled MTP of that protocol.
 */
export function controllerMtps(dm: DataModel, controller: DmObject): ControllerMtp[] {
  const rows = [...(controller.tables.get('MTP')?.rows.values() ?? [])]
    .filter((row) => enabled(dm, row))
    .sort((a, b) => Number(dm.read(a, 'Order')) - Number(dm.read(b, 'Order')) || a.instance! - b.instance!);
  const out: ControllerMtp[] = [];
  for (const row of rows) {
    const protocol = dm.read(row, 'Protocol');
    if (protocol === 'MQTT') {
      const mqtt = row.objects.get('MQTT')!;
      const topic = dm.read(mqtt, 'Topic');
      const named = referenced(dm, dm.read(mqtt, 'AgentMTPReference'));
      const agentMtp = named && enabled(dm, named) && dm.read(named, 'Protocol') === 'MQTT' ? named : agentMtpRows(dm, 'MQTT')[0];
      if (topic !== '' && agentMtp) out.push({ protocol, row, agentMtp, topic });
    } else if (protocol === 'STOMP') {
      const stomp = row.objects.get('STOMP')!;
      const destination = dm.read(stomp, 'Destination');
      const connection = dm.read(stomp, 'Reference');
      const candidates = agentMtpRows(dm, 'STOMP');
      const agentMtp = candidates.find((m) => dm.read(m.objects.get('STOMP')!, 'Reference') === connection) ?? candidates[0];
      if (destination !== '' && agentMtp) out.push({ protocol, row, agentMtp, destination });
    } else if (protocol === 'WebSocket') {
      out.push({ protocol, row, dials: dm.read(row.objects.get('WebSocket')!, 'Host') !== '' });
    }
  }
  return out;
}

/** The enabled Controller row with this Endpoint ID. */
export function controllerByEndpoint(dm: DataModel, endpointId: string): DmObject | undefined {
  for (const row of dm.table(CONTROLLER_TABLE).rows.values()) if (dm.read(row, 'EndpointID') === endpointId) return row;
  return undefined;
}
