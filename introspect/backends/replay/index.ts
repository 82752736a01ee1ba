// The replay backend: plays a recorded trace (NDJSON of VmiEvent) as `events$`, so that rules and
// detectors can be run and tested on what a live guest once did, without a guest.
export { replayTrace, replayTraceText } from './replay.js';
export type { ReplayOptions } from './replay.js';
