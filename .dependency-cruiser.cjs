// The architecture check (`npm run arch:check`, part of `npm run lint`): the layering of DESIGN.md
// and docs/architecture.md on every import, static, dynamic `import()` and type-only, and no cycles.

// Code that ships: everything but tests, test helpers, the lab, the benches and the scripts.
const TEST = '(\\.test\\.ts$|/test-support/)';
const PRODUCT = '^(api|cli|introspect|pipeline|plugins|rules|sinks)/';

/** A rule forbidding product code under `from` to import anything matching `to`. */
const layer = (name, comment, from, to, fromNot) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from, pathNot: fromNot ? [TEST, fromNot] : TEST },
  to: { path: to },
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'A cycle makes two modules one: move what both need below them.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-unresolved',
      comment: 'An import that resolves to nothing (a moved file, a typo in a dynamic import).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    layer(
      'product-not-to-test-support',
      'Test helpers (fakes, fixtures) are not shipped: product code must not need them.',
      PRODUCT,
      '/test-support/',
    ),
    layer(
      'product-not-to-lab-bench-scripts',
      'lab/ (sample guest, scenarios), bench/ and scripts/ build on the product, never the reverse. ' +
        'The only exceptions are the CLI commands that drive the lab: guest, lab and demo.',
      PRODUCT,
      '^(lab|bench|scripts)/',
      '^cli/commands/(guest|lab|demo)\\.ts$',
    ),
    layer(
      'introspect-low-level',
      'errors, events, memory and arch are the bottom of introspect/: they know no guest OS, backend or domain.',
      '^introspect/(errors\\.ts|events/|memory/|arch/)',
      '^introspect/(domain|os|backends|disasm)/',
    ),
    layer(
      'introspect-domain',
      'The Domain interface and its shared bookkeeping know no backend and no guest OS.',
      '^introspect/domain/',
      '^introspect/(os|backends)/',
    ),
    layer(
      'os-not-to-backends',
      'Linux awareness works on any Domain or memory: it must not know a backend.',
      '^introspect/os/',
      '^introspect/backends/',
    ),
    layer(
      'backends-not-to-os',
      'A backend gives memory, hooks and events; what they mean for Linux is introspect/os.',
      '^introspect/backends/',
      '^introspect/os/',
    ),
    layer(
      'introspect-below-everything',
      'introspect/ is the bottom layer: it knows no detector, rule, sink, pipeline, API or CLI.',
      '^introspect/',
      '^(plugins|rules|sinks|pipeline|api|cli)/',
    ),
    layer(
      'plugins-below-rules-and-sinks',
      'Detectors emit events; they know no rule, sink, pipeline, API or CLI.',
      '^plugins/',
      '^(rules|sinks|pipeline|api|cli)/',
    ),
    layer(
      'rules-know-events-only',
      'Rules see events and findings (and errors), never a detector, sink, backend, memory or guest OS.',
      '^rules/',
      '^(plugins|sinks|pipeline|api|cli)/|^introspect/(?!events/|errors\\.ts$)',
    ),
    layer(
      'sinks-know-findings-only',
      'Sinks see findings (and errors), never a detector, rule, backend, memory or guest OS.',
      '^sinks/',
      '^(plugins|rules|pipeline|api|cli)/|^introspect/(?!events/|errors\\.ts$)',
    ),
    layer(
      'pipeline-below-api',
      'The pipeline wires the layers below it; the API and the CLI are built on it.',
      '^pipeline/',
      '^(api|cli)/',
    ),
    layer('api-below-cli', 'The public API knows no CLI.', '^api/', '^cli/'),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist)/|\\.d\\.ts$' },
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count: a layer that names another's types depends on it.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      extensions: ['.ts', '.js', '.cjs', '.mjs', '.json'],
      // Packages that only declare "exports" (@nats-io/jetstream) resolve through them.
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
