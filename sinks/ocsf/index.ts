export * from './detection-finding.js';
