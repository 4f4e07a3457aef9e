// Device.LocalAgent. — the agent's identity, MTPs, Controllers, Subscriptions, Requests and ControllerTrust
// (TR-181 2.19.1, USP flavour; see reference/usp-tr181.md §5.4). Permission enforcement is a later issue:
// the tables are declared and stored here.
import { VENDOR_PREFIX } from '../src/datamodel/vendor.ts';
import { defineModel } from '../src/datamodel/schema.ts';

/** Subscriptions one Controller may hold (besides the table's own maxRows): no Controller can take them all. */
export const MAX_SUBSCRIPTIONS_PER_CONTROLLER = 128;
/** Targets entries of one Permission row (the config's roles key has the same bound). */
export const MAX_TARGETS_PER_PERMISSION = 32;

const alias = { type: 'string', access: 'writeOnceReadOnly', maxLength: 64 } as const;
const permission = { type: 'string', access: 'readWrite', minLength: 4, maxLength: 4, default: '----' } as const;

export const localAgentModel = defineModel({
  'Device.LocalAgent.': {
    params: {
      EndpointID: { type: 'string' },
      SoftwareVersion: { type: 'string', maxLength: 64 },
      UpTime: { type: 'unsignedInt', volatile: true },
      SupportedProtocols: { type: 'string', list: true, enum: ['WebSocket', 'STOMP', 'MQTT', 'UDS'] },
      SupportedFingerprintAlgorithms: { type: 'string', list: true, enum: ['SHA-1', 'SHA-224', 'SHA-256', 'SHA-384', 'SHA-512'] },
      AdvertisedDeviceSubtypes: { type: 'string', list: true, access: 'readWrite' },
      MaxSubscriptionChangeAdoptionTime: { type: 'unsignedInt', access: 'readWrite', range: { min: 5 }, default: '5' },
      MTPNumberOfEntries: { type: 'unsignedInt' },
      ControllerNumberOfEntries: { type: 'unsignedInt' },
      SubscriptionNumberOfEntries: { type: 'unsignedInt' },
      RequestNumberOfEntries: { type: 'unsignedInt' },
      SupportedNumberOfSubscriptions: { type: 'int' },
    },
    events: { 'Periodic!': {} },
  },
  'Device.LocalAgent.MTP.{i}.': {
    access: 'readWrite',
    note: "The agent's own MTPs: seeded from the config (mqtt, stomp and websocket keys); Controllers may add, change and delete them, and the agent starts, stops and reconnects exactly the MTPs whose rows changed, after answering. At most one WebSocket server row runs.",
    persistent: true,
    maxRows: 8,
    uniqueKeys: [['Alias']],
    enableParameter: 'Enable',
    params: {
      Alias: alias,
      Enable: { type: 'boolean', access: 'readWrite', default: 'false' },
      Status: { type: 'string', enum: ['Up', 'Down', 'Error'] },
      Protocol: { type: 'string', access: 'readWrite', enum: ['MQTT', 'STOMP', 'WebSocket'], default: 'MQTT' },
      EnableMDNS: { type: 'boolean', access: 'readWrite', default: 'false' },
    },
  },
  'Device.LocalAgent.MTP.{i}.MQTT.': {
    params: {
      Reference: { type: 'string', access: 'readWrite', reference: 'strong', default: '' },
      ResponseTopicConfigured: { type: 'string', access: 'readWrite', maxLength: 65535 },
      ResponseTopicDiscovered: { type: 'string', maxLength: 65535 },
      PublishQoS: { type: 'unsignedInt', access: 'readWrite', range: { min: 0, max: 2 }, default: '0' },
    },
  },
  'Device.LocalAgent.MTP.{i}.STOMP.': {
    params: {
      Reference: { type: 'string', access: 'readWrite', reference: 'strong', default: '' },
      Destination: { type: 'string', access: 'readWrite', maxLength: 65535, default: '' },
      DestinationFromServer: { type: 'string', maxLength: 65535, default: '' },
    },
  },
  'Device.LocalAgent.MTP.{i}.WebSocket.': {
    note: "The agent's WebSocket server, for Controllers that connect to it (TR-369 R-WS.1a).",
    params: {
      Interfaces: {
        type: 'string',
        list: true,
        access: 'readWrite',
        default: '',
        note: 'Stored, no effect: berth does not model Device.IP.; the address it listens on comes from the config (websocket.listen.bindAddress).',
      },
      Port: { type: 'unsignedInt', access: 'readWrite', range: { min: 1, max: 65535 }, default: '8443' },
      Path: { type: 'string', access: 'readWrite', maxLength: 1024, default: '/usp' },
      EnableEncryption: { type: 'boolean', access: 'readWrite', default: 'true' },
      KeepAliveInterval: { type: 'unsignedInt', access: 'readWrite', range: { min: 1 }, default: '60' },
    },
  },
  'Device.LocalAgent.Controller.{i}.': {
    access: 'readWrite',
    maxRows: 32,
    uniqueKeys: [['EndpointID'], ['Alias']],
    enableParameter: 'Enable',
    params: {
      Alias: alias,
      EndpointID: { type: 'string', access: 'readWrite', maxLength: 64, default: '' },
      ControllerCode: { type: 'string', access: 'readWrite', maxLength: 128, default: '' },
      ProvisioningCode: { type: 'string', access: 'readWrite', maxLength: 64, default: '' },
      Enable: { type: 'boolean', access: 'readWrite', default: 'false' },
      AssignedRole: { type: 'string', list: true, access: 'readWrite', reference: 'strong', default: '' },
      InheritedRole: { type: 'string', list: true, reference: 'strong' },
      PeriodicNotifInterval: { type: 'unsignedInt', access: 'readWrite', range: { min: 1 }, default: '86400' },
      PeriodicNotifTime: { type: 'dateTime', access: 'readWrite', default: '0001-01-01T00:00:00Z' },
      USPNotifRetryMinimumWaitInterval: { type: 'unsignedInt', access: 'readWrite', range: { min: 1, max: 65535 }, default: '5' },
      USPNotifRetryIntervalMultiplier: { type: 'unsignedInt', access: 'readWrite', range: { min: 1000, max: 65535 }, default: '2000' },
      MTPNumberOfEntries: { type: 'unsignedInt' },
      BootParameterNumberOfEntries: { type: 'unsignedInt' },
      OnBoardingComplete: { type: 'boolean', access: 'readWrite', default: 'false' },
    },
    commands: { 'SendOnBoardRequest()': { async: false } },
  },
  'Device.LocalAgent.Controller.{i}.MTP.{i}.': {
    access: 'readWrite',
    maxRows: 4,
    uniqueKeys: [['Protocol'], ['Alias']],
    enableParameter: 'Enable',
    params: {
      Alias: alias,
      Enable: { type: 'boolean', access: 'readWrite', default: 'false' },
      Protocol: { type: 'string', access: 'readWrite', enum: ['MQTT', 'STOMP', 'WebSocket'] },
      Order: { type: 'unsignedInt', access: 'readWrite', range: { min: 1 }, default: '1' },
    },
  },
  'Device.LocalAgent.Controller.{i}.MTP.{i}.MQTT.': {
    params: {
      Topic: { type: 'string', access: 'readWrite', maxLength: 65535 },
      PublishRetainResponse: { type: 'boolean', access: 'readWrite', default: 'false' },
      PublishRetainNotify: { type: 'boolean', access: 'readWrite', default: 'false' },
      AgentMTPReference: { type: 'string', access: 'readWrite', reference: 'strong', default: '' },
      [`${VENDOR_PREFIX}AgentTopic`]: {
        type: 'string',
        access: 'readWrite',
        maxLength: 65535,
        default: '',
        note: "berth's: the topic this Controller sends its requests to, when it has one of its own. The agent takes there only this Controller's Records, and this Controller's Records only there: with broker ACLs letting only the Controller's account write it, the broker proves who is speaking (README: Who is speaking).",
      },
    },
  },
  'Device.LocalAgent.Controller.{i}.MTP.{i}.STOMP.': {
    params: {
      Reference: { type: 'string', access: 'readWrite', reference: 'strong', default: '' },
      Destination: { type: 'string', access: 'readWrite', maxLength: 65535, default: '' },
    },
  },
  'Device.LocalAgent.Controller.{i}.MTP.{i}.WebSocket.': {
    note: "The Controller's WebSocket server, which the agent dials; with Host empty, the Controller connects to the agent's server instead and this row only says the Controller is reached over WebSocket.",
    params: {
      Host: { type: 'string', access: 'readWrite', maxLength: 256, default: '' },
      Port: { type: 'unsignedInt', access: 'readWrite', range: { min: 1, max: 65535 }, default: '443' },
      Path: { type: 'string', access: 'readWrite', maxLength: 1024, default: '' },
      EnableEncryption: { type: 'boolean', access: 'readWrite', default: 'true' },
      KeepAliveInterval: { type: 'unsignedInt', access: 'readWrite', range: { min: 1 }, default: '60' },
      CurrentRetryCount: { type: 'unsignedInt', volatile: true },
      SessionRetryMinimumWaitInterval: { type: 'unsignedInt', access: 'readWrite', range: { min: 1, max: 65535 }, default: '5' },
      SessionRetryIntervalMultiplier: { type: 'unsignedInt', access: 'readWrite', range: { min: 1000, max: 65535 }, default: '2000' },
    },
    commands: { 'Reset()': { async: false } },
  },
  'Device.LocalAgent.Controller.{i}.BootParameter.{i}.': {
    access: 'readWrite',
    maxRows: 32,
    uniqueKeys: [['Alias'], ['ParameterName']],
    enableParameter: 'Enable',
    params: {
      Alias: alias,
      Enable: { type: 'boolean', access: 'readWrite', default: 'false' },
      ParameterName: { type: 'string', access: 'readWrite', maxLength: 256 },
    },
  },
  'Device.LocalAgent.Subscription.{i}.': {
    access: 'readWrite',
    maxRows: 1024,
    note: `Also at most ${MAX_SUBSCRIPTIONS_PER_CONTROLLER} rows of one Recipient (7005 beyond).`,
    uniqueKeys: [['Alias'], ['Recipient', 'ID']],
    immutableKeys: ['ID'],
    enableParameter: 'Enable',
    params: {
      Alias: alias,
      Enable: { type: 'boolean', access: 'readWrite', default: 'false' },
      Recipient: { type: 'string', reference: 'strong' },
      ID: {
        type: 'string',
        access: 'readWrite',
        minLength: 1,
        maxLength: 4096,
        note: 'TR-181 says string(64); usp-js names the subscription behind each async Operate `NOTIFY@<command path><random>` (often 70–120 characters), and obuspa accepts longer IDs too: so does berth, up to 4,096.',
      },
      CreationDate: { type: 'dateTime' },
      NotifType: { type: 'string', access: 'readWrite', enum: ['ValueChange', 'ObjectCreation', 'ObjectDeletion', 'OperationComplete', 'Event'] },
      ReferenceList: { type: 'string', list: true, access: 'readWrite', maxLength: 256 },
      Persistent: { type: 'boolean', access: 'readWrite', default: 'false' },
      TimeToLive: { type: 'unsignedInt', access: 'readWrite', default: '0' },
      NotifRetry: { type: 'boolean', access: 'readWrite', default: 'false' },
      NotifExpiration: { type: 'unsignedInt', access: 'readWrite', default: '0' },
    },
  },
  'Device.LocalAgent.Request.{i}.': {
    access: 'readOnly',
    uniqueKeys: [['Originator', 'Command', 'CommandKey'], ['Alias']],
    persistent: false,
    params: {
      Alias: alias,
      Originator: { type: 'string' },
      Command: { type: 'string' },
      CommandKey: { type: 'string' },
      Status: { type: 'string', enum: ['Requested', 'Active', 'Canceling', 'Canceled', 'Success', 'Error'] },
    },
    commands: { 'Cancel()': { async: false } },
  },
  'Device.LocalAgent.ControllerTrust.': {
    params: {
      UntrustedRole: { type: 'string', list: true, access: 'readWrite', reference: 'strong', default: '' },
      BannedRole: { type: 'string', access: 'readWrite', reference: 'strong', default: '' },
      SecuredRoles: {
        type: 'string',
        list: true,
        access: 'readWrite',
        reference: 'strong',
        default: '',
        note: 'TR-181 2.16: Controllers holding one of these roles read secured values (passwords) instead of "", of what their other roles let them read.',
      },
      RoleNumberOfEntries: { type: 'unsignedInt' },
    },
  },
  'Device.LocalAgent.ControllerTrust.Role.{i}.': {
    access: 'readWrite',
    maxRows: 32,
    uniqueKeys: [['Name'], ['Alias']],
    enableParameter: 'Enable',
    params: {
      Alias: alias,
      Enable: { type: 'boolean', access: 'readWrite', default: 'false' },
      Name: { type: 'string', access: 'readWrite', maxLength: 64 },
      PermissionNumberOfEntries: { type: 'unsignedInt' },
    },
  },
  'Device.LocalAgent.ControllerTrust.Role.{i}.Permission.{i}.': {
    access: 'readWrite',
    maxRows: 64,
    uniqueKeys: [['Order'], ['Alias']],
    enableParameter: 'Enable',
    params: {
      Alias: alias,
      Enable: { type: 'boolean', access: 'readWrite', default: 'false' },
      Order: { type: 'unsignedInt', access: 'readWrite', default: '0' },
      // berth's bound: every permission is matched against each element a message touches.
      Targets: {
        type: 'string',
        list: true,
        access: 'readWrite',
        maxLength: 4096,
        default: '',
        note: `At most ${MAX_TARGETS_PER_PERMISSION} entries, each a path of the supported data model (partial, instance, wildcard, search, parameter, command or event path); one that names nothing is refused (7012).`,
      },
      Param: permission,
      Obj: permission,
      InstantiatedObj: permission,
      CommandEvent: permission,
    },
  },
});
