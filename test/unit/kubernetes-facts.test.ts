import { describe, expect, it } from 'vitest';
import { parseSeverity } from '../../src/adapters/kubernetes/deployment-watcher.js';
import { versionedImage } from '../../src/adapters/kubernetes/rollback-plan.js';

describe('previous-version annotation to image', () => {
  it('a version keeps the repository (registry port and digest too); a whole image is taken as is', () => {
    expect(versionedImage('voice-server:1.4.3', '1.4.2')).toBe('voice-server:1.4.2');
    expect(versionedImage('registry.example.com:5000/voice/voice-server:1.4.3', '1.4.2')).toBe('registry.example.com:5000/voice/voice-server:1.4.2');
    expect(versionedImage('voice-server@sha256:abcdef0123', '1.4.2')).toBe('voice-server:1.4.2');
    expect(versionedImage('voice-server:1.4.3', 'ghcr.io/acme/voice-server:1.4.2')).toBe('ghcr.io/acme/voice-server:1.4.2');
  });
});

describe('severity annotation', () => {
  it('default minor; a known value; anything else is minor with the reason', () => {
    expect(parseSeverity(undefined)).toEqual({ severity: 'minor' });
    expect(parseSeverity('hotfix')).toEqual({ severity: 'hotfix' });
    expect(parseSeverity('Major')).toEqual({ severity: 'minor', problem: expect.stringContaining('"Major" is not one of') });
  });
});
