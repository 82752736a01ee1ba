// Diagnostics: every problem the rule pipeline finds, with a stable code and where it is. They are
// collected, never thrown one at a time, so a user sees all of them in one run; formatting is separate.
import type { Location } from './types.js';

export type DiagnosticCode =
  | 'YAML_SYNTAX' // the file is not valid YAML
  | 'BAD_ITEM' // a top-level item is not a rule, macro, list or test
  | 'MISSING_KEY' // a required key (condition, items …) is missing
  | 'UNKNOWN_KEY' // a key Ringside does not know (warning)
  | 'BAD_VALUE' // a key has a value of the wrong shape
  | 'DUPLICATE' // a rule, macro or list defined twice without append/override
  | 'APPEND_UNKNOWN' // append/override of something not defined before
  | 'SYNTAX' // the condition does not parse (or nests too deep)
  | 'TOO_DEEP' // macros expand to a condition nested too deep
  | 'UNKNOWN_MACRO' // a name in a condition is neither a macro nor a field
  | 'MACRO_CYCLE' // macros that include each other
  | 'UNKNOWN_LIST' // a list referenced and not defined
  | 'UNKNOWN_FIELD' // a field not in the event catalogue (a warning in an output template)
  | 'UNFILLED_FIELD' // a catalogue field no detector fills yet (warning: the rule cannot fire)
  | 'TYPE_MISMATCH' // a value that cannot be compared with the field
  | 'BAD_OPERATOR' // an operator that does not apply to the field's type
  | 'BAD_REGEX' // a regex that does not compile
  | 'BAD_CIDR' // a CIDR or IP that does not parse
  | 'BAD_SEVERITY'
  | 'BAD_MITRE' // an ATT&CK id that is not Tnnnn or Tnnnn.nnn
  | 'BAD_DURATION'
  | 'UNUSED' // a macro or list no enabled rule uses (warning)
  | 'NO_RULES' // nothing to load (warning)
  | 'UNOBSERVED_EVENT' // a Falco evt.type Ringside does not observe: the rule could never fire
  | 'NEEDS_FILE_EVENTS' // a Falco file event or fd.* field: Ringside observes no file opens, renames …
  | 'SIGMA_UNMAPPED'; // a Sigma construct that does not map to Ringside events

export interface Diagnostic {
  code: DiagnosticCode;
  severity: 'error' | 'warning';
  message: string;
  at: Location;
}

export class DiagnosticBag {
  readonly items: Diagnostic[] = [];
  private errors = 0;

  error(code: DiagnosticCode, message: string, at: Location): void {
    this.items.push({ code, severity: 'error', message, at });
    this.errors += 1;
  }

  warning(code: DiagnosticCode, message: string, at: Location): void {
    this.items.push({ code, severity: 'warning', message, at });
  }

  get errorCount(): number {
    return this.errors;
  }
}

/** `file:line:col: error CODE: message`, the shape editors and CI logs recognise. */
export function formatDiagnostic(diagnostic: Diagnostic): string {
  const { file, line, col } = diagnostic.at;
  return `${file}:${line}:${col}: ${diagnostic.severity} ${diagnostic.code}: ${diagnostic.message}`;
}

/** Sorted by file, line and column so that output is stable. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort(
    (a, b) =>
      (a.at.file < b.at.file ? -1 : a.at.file > b.at.file ? 1 : 0) ||
      a.at.line - b.at.line ||
      a.at.col - b.at.col,
  );
}
