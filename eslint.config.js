// Lint configuration. Besides style, it holds the layering of DESIGN.md: dependencies point one way,
// backends -> memory -> os -> plugins -> rules -> sinks, and rules/sinks know events and findings only.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const layer = (files, forbidden) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: forbidden.map((group) => ({
          group: [group],
          message: 'This import breaks the layering in DESIGN.md (dependencies point one way).',
        })),
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'scripts/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  layer(['introspect/**/*.ts'], ['**/rules/**', '**/plugins/**', '**/sinks/**', '**/cli/**']),
  layer(['plugins/**/*.ts'], ['**/rules/**', '**/sinks/**', '**/cli/**']),
  layer(
    ['rules/**/*.ts'],
    [
      '**/plugins/**',
      '**/sinks/**',
      '**/cli/**',
      '**/introspect/backends/**',
      '**/introspect/memory/**',
      '**/introspect/os/**',
    ],
  ),
  layer(
    ['sinks/**/*.ts'],
    [
      '**/plugins/**',
      '**/rules/**',
      '**/cli/**',
      '**/introspect/backends/**',
      '**/introspect/memory/**',
      '**/introspect/os/**',
    ],
  ),
);
