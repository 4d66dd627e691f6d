export interface LeaderElector { start(): Promise<void>; stop(): Promise<void>; isLeader(): boolean; leader(): string | undefined }
