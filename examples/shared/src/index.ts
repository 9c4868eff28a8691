/**
 * `@sse/example-shared` (private): what the framework examples have in common, so that each
 * example's own code is only its framework's routing. The page (`public/`), the demo's state
 * (hub, clocks, notifications), request validation, TLS for HTTP/2, and graceful shutdown.
 */
export { type Asset, loadAssets } from './assets.ts'
export { type Certificate, type CertificatePaths, loadCertificate } from './certificate.ts'
export {
  createDemo,
  type Demo,
  type DemoEvents,
  type DemoHubOptions,
  type DemoOptions,
  type JsonAnswer,
  SHUTDOWN_RETRY,
  STREAM_RETRY_MS,
} from './demo.ts'
export { MAX_BODY_BYTES, parseJsonBody, readText } from './json-body.ts'
export {
  CLOSE_GRACE_MS,
  type ListenOptions,
  listenGracefully,
  type NodeServer,
  type RunningServer,
  urlOf,
} from './listen-gracefully.ts'
export {
  isTopic,
  MAX_TEXT_LENGTH,
  type Notification,
  type NotifyInput,
  type Parsed,
  parseNotification,
  parseTopics,
  requestedTopics,
  TOPICS,
  type Topic,
} from './notification.ts'
export { type ExampleMain, runExample, SHUTDOWN_DEADLINE_MS, type StartOptions } from './run-example.ts'
