// The index template Ringside installs for its data stream: ECS types for the fields it writes, and
// `flattened` for free-form evidence so that no plugin's evidence can cause a mapping conflict.

import type { estypes } from '@elastic/elasticsearch';

export const DATASET = 'ringside.findings';
export const TEMPLATE_NAME = 'logs-ringside.findings';

export const dataStreamName = (namespace: string): string => `logs-${DATASET}-${namespace}`;

const keyword: estypes.MappingProperty = { type: 'keyword', ignore_above: 1024 };
const long: estypes.MappingProperty = { type: 'long' };

/** Only mappings for what toEcs writes; anything else maps dynamically. */
export const FINDINGS_TEMPLATE: Omit<estypes.IndicesPutIndexTemplateRequest, 'name'> = {
  index_patterns: [`logs-${DATASET}-*`],
  data_stream: {},
  // Above the built-in logs-*-* template (priority 100), so this one applies.
  priority: 200,
  _meta: { managed_by: 'ringside', description: 'Ringside findings (ECS alerts)' },
  template: {
    settings: { 'index.mapping.total_fields.limit': 2000 },
    mappings: {
      dynamic: true,
      properties: {
        '@timestamp': { type: 'date' },
        message: { type: 'match_only_text' },
        tags: keyword,
        data_stream: {
          properties: {
            type: { type: 'constant_keyword', value: 'logs' },
            dataset: { type: 'constant_keyword', value: DATASET },
            namespace: { type: 'constant_keyword' },
          },
        },
        ecs: { properties: { version: keyword } },
        event: {
          properties: {
            id: keyword,
            kind: keyword,
            category: keyword,
            type: keyword,
            severity: long,
            risk_score: { type: 'float' },
            module: keyword,
            dataset: keyword,
            provider: keyword,
          },
        },
        rule: {
          properties: {
            id: keyword,
            uuid: keyword,
            name: keyword,
            description: keyword,
            ruleset: keyword,
            version: keyword,
          },
        },
        threat: {
          properties: {
            framework: keyword,
            technique: {
              properties: {
                id: keyword,
                name: keyword,
                reference: keyword,
                subtechnique: { properties: { id: keyword, name: keyword, reference: keyword } },
              },
            },
            tactic: { properties: { id: keyword, name: keyword, reference: keyword } },
          },
        },
        host: {
          properties: {
            name: keyword,
            hostname: keyword,
            id: keyword,
            architecture: keyword,
            type: keyword,
            os: { properties: { kernel: keyword } },
          },
        },
        observer: {
          properties: {
            hostname: keyword,
            name: keyword,
            product: keyword,
            vendor: keyword,
            version: keyword,
            type: keyword,
          },
        },
        process: {
          properties: {
            pid: long,
            name: keyword,
            executable: keyword,
            args: keyword,
            args_count: long,
            command_line: { type: 'wildcard' },
            parent: { properties: { pid: long, name: keyword, executable: keyword } },
          },
        },
        user: {
          properties: {
            id: keyword,
            group: { properties: { id: keyword } },
            effective: { properties: { id: keyword } },
          },
        },
        source: { properties: { ip: { type: 'ip' }, port: long } },
        destination: { properties: { ip: { type: 'ip' }, port: long } },
        network: { properties: { transport: keyword } },
        ringside: {
          properties: {
            severity: keyword,
            domain: keyword,
            vcpu: long,
            event_types: keyword,
            event_count: long,
            vmi: { type: 'flattened' },
            process: {
              properties: { task: keyword, kernel_thread: { type: 'boolean' }, tgid: long },
            },
            user: { properties: { previous_id: long } },
            module: { type: 'flattened' },
            registers: { type: 'flattened' },
            evidence: { type: 'flattened' },
            actions: { type: 'flattened' },
          },
        },
      },
    },
  },
};
