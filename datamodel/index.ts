// The whole supported data model berth declares. New subtrees are added here.
import { deviceModel } from './device.ts';
import { localAgentModel } from './local-agent.ts';
import { mqttModel } from './mqtt.ts';
import { stompModel } from './stomp.ts';
import { softwareModulesModel } from './software-modules.ts';
import { auditModel } from './audit.ts';
import type { ModelDecl } from '../src/datamodel/schema.ts';

export const DATA_MODEL_URI = 'urn:broadband-forum-org:tr-181-2-19-1';

export const berthModel: ModelDecl = { ...deviceModel, ...localAgentModel, ...mqttModel, ...stompModel, ...softwareModulesModel, ...auditModel };
