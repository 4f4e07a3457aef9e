// Who may speak where (README: Who is speaking). MQTT does not tell the agent who published a Record, but a broker
// can let only one account write a topic. A Controller given a topic of its own to send to
// (Controller.{i}.MTP.{j}.MQTT.X_BERTH-ORG_AgentTopic) is bound to it: on that topic the agent takes only Records
// whose from_id is that Controller, and that Controller's Records only there. Controllers without one share the
// agent's topic, where from_id is all there is.
import type { DataModel } from '../datamodel/data-model.ts';
import type { DmObject } from '../datamodel/instances.ts';
import { VENDOR_PREFIX } from '../datamodel/vendor.ts';

export const AGENT_TOPIC_PARAM = `${VENDOR_PREFIX}AgentTopic`;

/** The agent topics of the Controller's enabled MQTT MTP rows. */
function agentTopicsOf(dm: DataModel, controller: DmObject): string[] {
  const topics: string[] = [];
  for (const mtp of controller.tables.get('MTP')?.rows.values() ?? []) {
    if (dm.read(mtp, 'Enable') !== 'true' || dm.read(mtp, 'Protocol') !== 'MQTT') continue;
    const topic = dm.read(mtp.objects.get('MQTT')!, AGENT_TOPIC_PARAM);
    if (topic !== '') topics.push(topic);
  }
  return topics;
}

/**
 * Why a Record claiming to come from `controller` may not be taken when it arrived on `arrivedOn`, or undefined
 * when it may. `controllers` are all Controller rows (another may own the topic).
 */
export function senderBindingProblem(dm: DataModel, controllers: Iterable<DmObject>, controller: DmObject, arrivedOn: string | undefined): string | undefined {
  if (arrivedOn === undefined) return undefined;
  const own = agentTopicsOf(dm, controller);
  if (own.length > 0 && !own.includes(arrivedOn)) return `this Controller sends only on its own agent topic (${own.join(', ')})`;
  for (const other of controllers) {
    if (other !== controller && agentTopicsOf(dm, other).includes(arrivedOn)) return `the topic belongs to another Controller (${dm.read(other, 'EndpointID')})`;
  }
  return undefined;
}
