import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'bin/*.js', 'test/bench/*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    // The core is pure: no I/O, no clock. Enforced here so it cannot drift.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['node:fs*', 'node:net', 'node:http*', 'node:child_process', 'fs', 'better-sqlite3', 'axios', '../adapters/*', '../guard/*', '../cli/*'], message: 'src/core is pure: no I/O imports.' },
      ] }],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'src/core takes time as an argument.' },
        { object: 'Math', property: 'random', message: 'src/core is deterministic.' },
      ],
      'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'src/core takes time as an argument.' }],
    },
  },
  {
    // vitest's asymmetric matchers (expect.stringMatching, expect.any) are typed `any`.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
