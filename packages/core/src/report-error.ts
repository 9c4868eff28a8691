/**
 * Where errors thrown by user callbacks go: they are caught, so cleanup always completes, and
 * then logged, never swallowed. Not `globalThis.reportError`: on some runtimes (Deno) an
 * unhandled report ends the process, and one bad callback must not take a server down.
 */
export function reportError(error: unknown): void {
  console.error('[@sse] a callback threw; the stream was still cleaned up:', error)
}

/** Where a hub's `error` event goes when nobody listens: said as what it is, with the fix. */
export function reportUnhandledHubError(error: unknown): void {
  console.error("[@sse] hub error (listen with hub.on('error', …) to handle it):", error)
}
