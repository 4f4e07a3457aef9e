// Device.SoftwareModules. (TR-181 2.19.1, USP flavour; reference §6), as far as berth implements it: Execution
// Environments from the config, Deployment Units (InstallDU/Update/Uninstall) and Execution Units (containers).
// What is not declared, and why, is the note of Device.SoftwareModules.
import { defineModel } from '../src/datamodel/schema.ts';
import type { ArgDecl } from '../src/datamodel/schema.ts';
import { VENDOR_PREFIX } from '../src/datamodel/vendor.ts';

const alias = { type: 'string', access: 'writeOnceReadOnly', maxLength: 64 } as const;
const kib = { type: 'int', range: { min: -1 } } as const;
const percent = { type: 'int', range: { min: -1, max: 100 } } as const;

// InstallDU()/Update() arguments berth takes.
const unneeded = 'Accepted for conformance, not used: the catalog is public and signed (a URL with a user or password is refused: 7004).';
const packageArgs: Record<string, ArgDecl> = {
  Username: { type: 'string', maxLength: 256, default: '', note: unneeded },
  Password: { type: 'string', maxLength: 256, default: '', note: unneeded },
  ModuleVersion: { type: 'string', maxLength: 32 },
};
const autoRestartArgs: Record<string, ArgDecl> = {
  'AutoRestart.Enable': { type: 'boolean' },
  'AutoRestart.RetryMinimumWaitInterval': { type: 'unsignedInt' },
  'AutoRestart.RetryMaximumWaitInterval': { type: 'unsignedInt' },
  'AutoRestart.RetryIntervalMultiplier': { type: 'unsignedInt', range: { min: 1000, max: 65535 } },
  'AutoRestart.MaximumRetryCount': { type: 'unsignedInt', default: '10' },
  'AutoRestart.ResetPeriod': { type: 'unsignedInt', default: '0' },
};

export const softwareModulesModel = defineModel({
  'Device.SoftwareModules.': {
    note: 'Not supported: ExecEnvClass (one kind of ExecEnv: the Docker Engine), ApplicationData, HostObject, EnvVariable, NetworkConfig (an app\'s volumes, environment and ports come from its signed manifest, not from the Controller).',
    params: {
      ExecEnvNumberOfEntries: { type: 'unsignedInt' },
      DeploymentUnitNumberOfEntries: { type: 'unsignedInt' },
      ExecutionUnitNumberOfEntries: { type: 'unsignedInt' },
    },
    commands: {
      'InstallDU()': {
        async: true,
        note: 'Only from the configured signed catalog; refused at once (in the OperateResp) without a catalog (7002), for a bad URL or UUID (7004), an unknown (7223) or disabled (7012) ExecEnv; then checked against the signed summary, admitted against the ExecEnv\'s quotas and policy before any byte is downloaded, and undone entirely if the units do not stay up (README: Software Module Management).',
        input: {
          URL: { type: 'string', mandatory: true, maxLength: 2048 },
          UUID: { type: 'string', maxLength: 36 },
          ExecutionEnvRef: { type: 'string', maxLength: 256 },
          ShutdownDelay: { type: 'unsignedInt', default: '10' },
          ...packageArgs,
          ...autoRestartArgs,
        },
        output: {
          UUID: { type: 'string' },
          Version: { type: 'string' },
          ExecEnvRef: { type: 'string' },
        },
      },
    },
    events: {
      'DUStateChange!': {
        args: {
          UUID: { type: 'string' },
          DeploymentUnitRef: { type: 'string' },
          Version: { type: 'string' },
          CurrentState: { type: 'string', enum: ['Installed', 'UnInstalled', 'Uninstalled', 'Failed'] },
          Resolved: { type: 'boolean' },
          ExecutionUnitRefList: { type: 'string', list: true },
          StartTime: { type: 'dateTime' },
          CompleteTime: { type: 'dateTime' },
          OperationPerformed: { type: 'string', enum: ['Install', 'Update', 'Uninstall'] },
          'Fault.FaultCode': { type: 'unsignedInt' },
          'Fault.FaultString': { type: 'string', maxLength: 256 },
        },
      },
    },
  },
  'Device.SoftwareModules.ExecEnv.{i}.': {
    access: 'readOnly',
    uniqueKeys: [['Name'], ['Alias']],
    persistent: true,
    note: "One row per configured ExecEnv (execEnvs[]), all on the local Docker Engine; what Controllers set on them (Enable) survives restarts. Status is Up while Docker answers, Error while it does not.",
    params: {
      Alias: { type: 'string', access: 'writeOnceReadOnly', maxLength: 64 },
      Enable: { type: 'boolean', access: 'readWrite', default: 'true' },
      Status: { type: 'string', enum: ['Up', 'Error', 'Disabled', 'Restarting'] },
      Name: { type: 'string', maxLength: 32 },
      Type: { type: 'string', maxLength: 64 },
      InitialRunLevel: { type: 'unsignedInt', access: 'readWrite', range: { max: 65535 }, default: '0' },
      CurrentRunLevel: { type: 'int', range: { min: -1, max: 65535 }, default: '-1', note: 'Set from InitialRunLevel at every start and by SetRunLevel(); -1: run levels not used.' },
      InitialExecutionUnitRunLevel: { type: 'int', access: 'readWrite', range: { min: -1, max: 65535 }, default: '-1' },
      Vendor: { type: 'string', maxLength: 128 },
      Version: { type: 'string', maxLength: 32 },
      ParentExecEnv: { type: 'string', reference: 'strong' },
      AllocatedDiskSpace: kib,
      AvailableDiskSpace: kib,
      AllocatedMemory: kib,
      AvailableMemory: kib,
      AllocatedCPUPercent: percent,
      AvailableCPUPercent: percent,
      ActiveExecutionUnits: { type: 'string', list: true, reference: 'strong' },
      CreatedAt: { type: 'dateTime' },
      RestartReason: { type: 'string', maxLength: 256 },
      RestartCount: { type: 'unsignedInt', default: '0' },
      LastRestarted: { type: 'dateTime' },
    },
    commands: {
      'SetRunLevel()': { async: false, input: { RequestedRunLevel: { type: 'int', mandatory: true, range: { min: -1, max: 65535 } } } },
      'ModifyConstraints()': {
        async: true,
        input: {
          Force: { type: 'boolean', default: 'false' },
          AllocatedDiskSpace: { ...kib },
          AllocatedMemory: { ...kib },
          AllocatedCPUPercent: { ...percent },
        },
      },
      'Restart()': { async: true, input: { Reason: { type: 'string', maxLength: 256 }, Force: { type: 'boolean', default: 'false' } } },
    },
    events: { 'Restarted!': { args: { RestartTime: { type: 'dateTime' }, RestartReason: { type: 'string', maxLength: 256 } } } },
  },
  'Device.SoftwareModules.DeploymentUnit.{i}.': {
    access: 'readOnly',
    note: 'Rows are made by InstallDU() and removed by Uninstall(); berth keeps them (and their instance numbers) in its own state, saved with the data model, and rebuilds them at start.',
    uniqueKeys: [['UUID', 'Version', 'ExecutionEnvRef'], ['Alias']],
    params: {
      UUID: { type: 'string', maxLength: 36 },
      DUID: { type: 'string', maxLength: 64 },
      Alias: alias,
      Name: { type: 'string', maxLength: 256 },
      Status: { type: 'string', enum: ['Installing', 'Installed', 'Updating', 'Uninstalling', 'Uninstalled'] },
      Resolved: { type: 'boolean' },
      URL: { type: 'string', maxLength: 2048 },
      Description: { type: 'string', maxLength: 256 },
      Vendor: { type: 'string', maxLength: 128 },
      Version: { type: 'string', maxLength: 32 },
      VendorLogList: { type: 'string', list: true },
      VendorConfigList: { type: 'string', list: true },
      ExecutionUnitList: { type: 'string', list: true },
      ExecutionEnvRef: { type: 'string' },
      Installed: { type: 'dateTime' },
      LastUpdate: { type: 'dateTime' },
      ModuleVersion: { type: 'string', maxLength: 32 },
      [`${VENDOR_PREFIX}InstalledBy`]: {
        type: 'string',
        maxLength: 256,
        note: "berth's: the Endpoint ID of the Controller whose InstallDU() created the DU (kept across Update; empty for DUs installed before berth recorded it).",
      },
    },
    commands: {
      'Update()': {
        async: true,
        note: 'The new version is verified, admitted and created while the old one runs; if its units do not become Active and stay up for smm.updateProbationSeconds, it is removed and the old version runs again with its data. A lower version is refused (7229) unless smm.allowDowngrade.',
        input: { URL: { type: 'string', maxLength: 2048 }, RetainData: { type: 'boolean', default: 'false' }, ...packageArgs },
      },
      'Uninstall()': { async: true, input: { RetainData: { type: 'boolean', default: 'false' } } },
    },
  },
  'Device.SoftwareModules.ExecutionUnit.{i}.': {
    access: 'readOnly',
    uniqueKeys: [['EUID'], ['Alias']],
    params: {
      EUID: { type: 'string', maxLength: 64 },
      Alias: alias,
      Name: { type: 'string', maxLength: 256 },
      ExecEnvLabel: { type: 'string', maxLength: 64 },
      Status: { type: 'string', enum: ['Idle', 'Starting', 'Active', 'Stopping', 'Restarting'] },
      ExecutionFaultCode: {
        type: 'string',
        enum: ['NoFault', 'FailureOnStart', 'FailureOnAutoStart', 'FailureOnStop', 'FailureWhileActive', 'DependencyFailure', 'UnStartable'],
      },
      ExecutionFaultMessage: { type: 'string', maxLength: 256 },
      AutoStart: { type: 'boolean', access: 'readWrite' },
      RunLevel: { type: 'unsignedInt', access: 'readWrite', range: { max: 65535 } },
      Vendor: { type: 'string', maxLength: 128 },
      Version: { type: 'string', maxLength: 32 },
      Description: { type: 'string', maxLength: 256 },
      Privileged: { type: 'boolean' },
      AllocatedDiskSpace: kib,
      DiskSpaceInUse: { ...kib, volatile: true },
      AllocatedMemory: kib,
      MemoryInUse: { ...kib, volatile: true },
      AllocatedCPUPercent: percent,
      CPUPercentInUse: { ...percent, volatile: true },
      CreationTime: { type: 'dateTime' },
      Uptime: { type: 'unsignedInt', volatile: true },
      ShutdownDelay: { type: 'unsignedInt', access: 'readWrite', default: '10' },
      References: { type: 'string', list: true },
      AssociatedProcessList: { type: 'string', list: true },
      VendorLogList: { type: 'string', list: true },
      VendorConfigList: { type: 'string', list: true },
      ExecutionEnvRef: { type: 'string' },
    },
    commands: {
      'SetRequestedState()': { async: false, input: { RequestedState: { type: 'string', mandatory: true, enum: ['Idle', 'Active'] } } },
      'Restart()': { async: false },
    },
  },
  'Device.SoftwareModules.ExecutionUnit.{i}.AutoRestart.': {
    params: {
      Enable: { type: 'boolean', access: 'readWrite', default: 'false' },
      RetryMinimumWaitInterval: { type: 'unsignedInt', access: 'readWrite' },
      RetryMaximumWaitInterval: { type: 'unsignedInt', access: 'readWrite' },
      RetryIntervalMultiplier: { type: 'unsignedInt', access: 'readWrite', range: { min: 1000, max: 65535 } },
      MaximumRetryCount: { type: 'unsignedInt', access: 'readWrite' },
      ResetPeriod: { type: 'unsignedInt', access: 'readWrite' },
      RetryCount: { type: 'unsignedInt', access: 'readWrite' },
      LastRestarted: { type: 'dateTime' },
      NextRestart: { type: 'dateTime' },
    },
  },
});
