// berth's own version, reported as Device.LocalAgent.SoftwareVersion and checked by app packages' requires.berth.
export const BERTH_VERSION = '0.1.0';
