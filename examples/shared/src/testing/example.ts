/** What the shared suites need of an example. */
import type { Demo } from '../demo.ts'
import type { RunningServer } from '../listen-gracefully.ts'
import type { StartOptions } from '../run-example.ts'

export interface ExampleUnderTest {
  /** As shown on the page and in `/health`, e.g. `Express`. */
  readonly framework: string
  /** The example's `startServer` from `src/app.ts`. */
  readonly start: (options: StartOptions & { demo?: Demo | undefined }) => Promise<RunningServer>
  /** Whether `HTTPS=1` serves HTTPS with HTTP/2. */
  readonly http2: boolean
}

/** Generous deadlines: they catch hangs, they never measure speed. */
export const WAIT_MS = 15_000
