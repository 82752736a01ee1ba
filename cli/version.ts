// Ringside's version, as the CLI reports it and as findings name their observer.
export const RINGSIDE_VERSION = '0.1.0';
