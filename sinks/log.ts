// Where sinks say what they do (back-pressure on, a sink failing, findings dead-lettered): one small
// interface, JSON lines on stderr by default, so a test can capture it and nothing prints on its own.

export interface SinkLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const line =
  (component: string, level: string) =>
  (message: string, fields?: Record<string, unknown>): void => {
    process.stderr.write(
      `${JSON.stringify({ time: new Date().toISOString(), level, component, message, ...fields })}\n`,
    );
  };

/** JSON lines on stderr naming `component` (sinks, agent, detect) as their source. */
export const stderrLogFor = (component: string): SinkLog => ({
  info: line(component, 'info'),
  warn: line(component, 'warn'),
  error: line(component, 'error'),
});

export const stderrLog: SinkLog = stderrLogFor('sinks');

export const silentLog: SinkLog = { info: () => {}, warn: () => {}, error: () => {} };

/** A log that keeps its lines, for tests and for the exit summary. */
export function memoryLog(): SinkLog & {
  lines: { level: string; message: string; fields?: Record<string, unknown> }[];
} {
  const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const push =
    (level: string) =>
    (message: string, fields?: Record<string, unknown>): void => {
      lines.push({ level, message, fields });
    };
  return { lines, info: push('info'), warn: push('warn'), error: push('error') };
}
