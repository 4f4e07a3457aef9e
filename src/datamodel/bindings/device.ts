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

const MAX_TIMER_STEP_MS = 24 * 60 * 60 * 1000;

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
    const deadline = Date.now() + Number(args['DelaySeconds']) * 1000;
    return new Promise<Record<string, string>>((resolve, reject) => {
      if (signal.aborted) {
        reject(new UspError(ErrorCode.CommandCanceled, 'ScheduleTimer() canceled'));
        return;
      }
      // DelaySeconds goes up to 2^32−1 s (136 years); Node fires a timeout longer than 2^31−1 ms (24.8 days) at once,
      // so a long delay is waited for in steps of at most a day.
      let timer: NodeJS.Timeout;
      const wait = (): void => {
        const left = deadline - Date.now();
        if (left <= 0) {
          resolve({});
          return;
        }
        timer = setTimeout(wait, Math.min(left, MAX_TIMER_STEP_MS));
      };
      wait();
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new UspError(ErrorCode.CommandCanceled, 'ScheduleTimer() canceled'));
      });
    });
  });
}
