// Bindings for Device., Device.DeviceInfo. and Device.ScheduleTimer().
import type { Registry } from '../registry.ts';
import { ErrorCode, UspError } from '../../usp/errors.ts';

export interface DeviceIdentity {
  readonly manufacturer: string;
  readonly manufacturerOui: string;
  readonly modelName: string;
  readonly description: string;
  readonly productClass: string;
  readonly serialNumber: string;
  readonly hardwareVersion: string;
  readonly softwareVersion: string;
}

export function bindDevice(registry: Registry, identity: DeviceIdentity, upTimeSeconds: () => number): void {
  registry.bindObject('Device.', { get: { RootDataModelVersion: () => '2.19' } });
  registry.bindObject('Device.DeviceInfo.', {
    get: {
      Manufacturer: () => identity.manufacturer,
      ManufacturerOUI: () => identity.manufacturerOui,
      ModelName: () => identity.modelName,
      Description: () => identity.description,
      ProductClass: () => identity.productClass,
      SerialNumber: () => identity.serialNumber,
      HardwareVersion: () => identity.hardwareVersion,
      SoftwareVersion: () => identity.softwareVersion,
      UpTime: () => String(upTimeSeconds()),
    },
  });
  registry.bindCommand('Device.ScheduleTimer()', ({ args, signal }) => {
    const seconds = Number(args['DelaySeconds']);
    return new Promise<Record<string, string>>((resolve, reject) => {
      if (signal.aborted) {
        reject(new UspError(ErrorCode.CommandCanceled, 'ScheduleTimer() canceled'));
        return;
      }
      const timer = setTimeout(() => {
        resolve({});
      }, seconds * 1000);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new UspError(ErrorCode.CommandCanceled, 'ScheduleTimer() canceled'));
      });
    });
  });
}
