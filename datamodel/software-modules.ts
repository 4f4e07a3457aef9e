// Device.SoftwareModules. (TR-181 2.19.1, USP flavour; reference §6). Declared as far as berth implements it:
// the Execution Environments. DeploymentUnit and ExecutionUnit (InstallDU() and the rest) come with the
// Software Module Management service.
import { defineModel } from '../src/datamodel/schema.ts';

export const softwareModulesModel = defineModel({
  'Device.SoftwareModules.': {
    params: {
      ExecEnvNumberOfEntries: { type: 'unsignedInt' },
    },
  },
  'Device.SoftwareModules.ExecEnv.{i}.': {
    access: 'readOnly',
    uniqueKeys: [['Name'], ['Alias']],
    // Rows come from the config; what Controllers set on them (Enable) survives restarts.
    persistent: true,
    params: {
      Alias: { type: 'string', access: 'writeOnceReadOnly', maxLength: 64 },
      Enable: { type: 'boolean', access: 'readWrite', default: 'true' },
      Status: { type: 'string', enum: ['Up', 'Error', 'Disabled', 'Restarting'] },
      Name: { type: 'string', maxLength: 32 },
      Type: { type: 'string', maxLength: 64 },
      InitialRunLevel: { type: 'unsignedInt', access: 'readWrite', range: { max: 65535 }, default: '0' },
      CurrentRunLevel: { type: 'int', range: { min: -1, max: 65535 } },
      InitialExecutionUnitRunLevel: { type: 'int', access: 'readWrite', range: { min: -1, max: 65535 }, default: '-1' },
      Vendor: { type: 'string', maxLength: 128 },
      Version: { type: 'string', maxLength: 32 },
      ParentExecEnv: { type: 'string', reference: 'strong' },
      AllocatedDiskSpace: { type: 'int', range: { min: -1 } },
      AvailableDiskSpace: { type: 'int', range: { min: -1 } },
      AllocatedMemory: { type: 'int', range: { min: -1 } },
      AvailableMemory: { type: 'int', range: { min: -1 } },
      AllocatedCPUPercent: { type: 'unsignedInt', range: { max: 100 } },
      AvailableCPUPercent: { type: 'unsignedInt', range: { max: 100 } },
      ActiveExecutionUnits: { type: 'string', list: true, reference: 'strong' },
    },
  },
});
