// The detectors' short names, in a module light enough for the CLI to load at start-up (the
// registry in plugins/index.ts must name exactly these: the type says so).
export const DETECTOR_NAMES = [
  'exec',
  'exit',
  'cred',
  'module',
  'network',
  'integrity',
  'hidden',
  'injection',
  'escape',
  'masquerade',
  'modhide',
  'hooks',
  'bpf',
] as const;

export type DetectorName = (typeof DETECTOR_NAMES)[number];
