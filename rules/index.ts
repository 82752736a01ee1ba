// The rule language and engine: load rule files, compile them and run them as an RxJS operator.
export * from './types.js';
export * from './diagnostics.js';
export { parseCondition, formatCondition } from './parser.js';
export { plainSource } from './source.js';
export type { SourceText } from './source.js';
export type { RuleFile } from './collect.js';
export { loadRuleFiles, slugify } from './load.js';
export type {
  LoadedRule,
  LoadedCorrelation,
  LoadResult,
  NotLoaded,
  Ruleset,
  OutputPart,
} from './load.js';
export { findRuleFiles, findTestFiles, loadRulePaths, readRuleFiles } from './files.js';
export type { Checked, CheckedCompare } from './check.js';
export { interpret } from './interpret.js';
export { RuleEngine } from './engine.js';
export type { EngineStats, Matcher } from './engine.js';
export { Detector } from './detector.js';
export type { DetectorOptions, DetectorStats } from './detector.js';
export type { CorrelationStats } from './correlation.js';
export { detect } from './detect.js';
export type { DetectOptions } from './detect.js';
export { checkTestCase, formatTestResult, parseTestFile } from './testing.js';
export type { FindingExpectation, RuleTestCase, RuleTestResult } from './testing.js';
export { importSigma } from './sigma.js';
export type { SigmaImportResult } from './sigma.js';
