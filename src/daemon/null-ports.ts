// Null objects for ports that are not configured, so the daemon never checks "is there a ...?".
import type { Actuator } from '../ports/actuator.js';
import type { LeaderElector } from '../ports/leader.js';
import type { ReleaseSource } from '../ports/release-source.js';

/** A single replica is always the leader. */
export const soleLeader: LeaderElector = { start: async () => {}, stop: async () => {}, isLeader: () => true, leader: () => 'this replica' };

/** Without Kubernetes access nothing can be reverted: every rollback is refused, and logged as such. */
export const noActuator: Actuator = {
  rollback: () => Promise.resolve({ kind: 'refused', code: 'no-kubernetes', reason: 'no Kubernetes access is configured' }),
  verifyRollout: () => Promise.resolve({ kind: 'failed', detail: 'no Kubernetes access is configured' }),
};

export const noReleases: ReleaseSource = { start: async () => {}, stop: async () => {} };
