/** The cases `client.test.ts` runs on each runtime, by matrix key (see `matrix.ts`). */
export const CLIENT_CASES = {
  typed: 'connect and typed events',
  resume: 'a server-side cut, then a reconnect that resumes with Last-Event-ID',
  close: 'close()',
} as const
