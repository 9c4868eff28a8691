/**
 * `@sse/example-shared/testing`: the suites every example runs against its own framework, so
 * the four examples are held to one contract. Source only (vitest and tsc read it through the
 * `@sse/source` condition); nothing here ships in `dist`.
 */

export { CHROMIUM_ARGS, findChromium, isCI, launchChromium } from './browser.ts'
export { type BrowserSuiteOptions, describeExampleInBrowser } from './browser-suite.ts'
export { type ExampleUnderTest, WAIT_MS } from './example.ts'
export { connectH2, type H2Client, type H2EventStream } from './h2.ts'
export { describeExampleProcess } from './process.ts'
export { describeExampleRoutes } from './routes.ts'
