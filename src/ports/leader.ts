/** Only the leader acts. A replica that is not leader, or has lost the lease, never patches. */
export interface LeaderElector {
  start(): Promise<void>;
  stop(): Promise<void>;
  isLeader(): boolean;
  /** The current holder as last seen, if any. */
  leader(): string | undefined;
  /** Where the holder's HTTP API answers (its Lease says), for a follower to forward approvals to; if known. */
  leaderUrl?(): string | undefined;
}
