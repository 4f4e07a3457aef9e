// berth finds its own containers, volumes and networks by these labels, never by name patterns (DESIGN.md §3).
export const LABEL_MANAGED = 'io.berth.managed';
export const LABEL_DU = 'io.berth.du';
export const LABEL_EU = 'io.berth.eu';
export const LABEL_EXECENV = 'io.berth.execenv';
export const LABEL_VERSION = 'io.berth.version';
/** On data volumes: the volume's name in the app manifest (finds retained data again on a later install). */
export const LABEL_VOLUME = 'io.berth.volume';
/** The agent (its Endpoint ID) that owns the object: reconciliation only ever touches its own agent's objects. */
export const LABEL_OWNER = 'io.berth.owner';
