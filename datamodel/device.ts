// Device. root, Device.DeviceInfo. and the root commands/events berth implements (TR-181 2.19.1, USP flavour).
import { VENDOR_PREFIX } from '../src/datamodel/vendor.ts';
import { defineModel } from '../src/datamodel/schema.ts';

export const deviceModel = defineModel({
  'Device.': {
    params: {
      RootDataModelVersion: { type: 'string', maxLength: 32 },
    },
    commands: {
      // A simple, standard async command that Controllers (and TP-469 tests) use to exercise the Request table.
      'ScheduleTimer()': {
        async: true,
        input: { DelaySeconds: { type: 'unsignedInt', mandatory: true } },
        note: 'Completes DelaySeconds after it is accepted: a Request row while it waits, then OperationComplete.',
      },
    },
    events: {
      'Boot!': {
        args: {
          CommandKey: { type: 'string' },
          Cause: { type: 'string', enum: ['LocalReboot', 'RemoteReboot', 'LocalFactoryReset', 'RemoteFactoryReset'] },
          FirmwareUpdated: { type: 'boolean' },
          ParameterMap: { type: 'string' },
        },
      },
    },
  },
  'Device.DeviceInfo.': {
    params: {
      Manufacturer: { type: 'string', maxLength: 64 },
      ManufacturerOUI: { type: 'string', minLength: 6, maxLength: 6 },
      ModelName: { type: 'string', maxLength: 64 },
      Description: { type: 'string', maxLength: 256 },
      ProductClass: { type: 'string', maxLength: 64 },
      SerialNumber: { type: 'string', maxLength: 64 },
      HardwareVersion: { type: 'string', maxLength: 64 },
      SoftwareVersion: { type: 'string', maxLength: 64 },
      UpTime: { type: 'unsignedInt', volatile: true },
      VendorLogFileNumberOfEntries: { type: 'unsignedInt' },
    },
  },
  'Device.DeviceInfo.VendorLogFile.{i}.': {
    access: 'readOnly',
    note: "One log per installed Execution Unit (its container's output, capped at MaximumSize), with the same instance number as the unit's row; Upload() PUTs it to the Controller's URL (TR-181 2.12).",
    uniqueKeys: [['Name'], ['Alias']],
    params: {
      Alias: { type: 'string', access: 'writeOnceReadOnly', maxLength: 64 },
      Name: { type: 'string', maxLength: 64 },
      MaximumSize: { type: 'unsignedInt' },
      Persistent: { type: 'boolean' },
      [`${VENDOR_PREFIX}ExecutionEnvRef`]: {
        type: 'string',
        reference: 'strong',
        maxLength: 256,
        note: "berth's: the ExecEnv of the unit whose log this is, so that permissions can give each tenant its own units' logs (a search path on it) and nobody else's.",
      },
    },
    commands: {
      'Upload()': {
        async: true,
        input: { URL: { type: 'string', mandatory: true, maxLength: 2048 }, Username: { type: 'string', maxLength: 256, default: '' }, Password: { type: 'string', maxLength: 256, default: '' } },
      },
    },
  },
});
