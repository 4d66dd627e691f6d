// Release severities (checklist: quick reference) in a module of their own, so light commands can use them
// without loading the rules schema (zod).
export const SEVERITIES = ['hotfix', 'minor', 'major', 'infrastructure'] as const;
export type Severity = (typeof SEVERITIES)[number];
