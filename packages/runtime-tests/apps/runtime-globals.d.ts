// The little of Bun's and Deno's globals the entries use (their full type packages are not
// installed: the entries are checked by tsc as plain TypeScript, and run by the runtimes).
declare const Bun: {
  readonly argv: readonly string[]
  readonly version: string
  serve(options: {
    hostname: string
    port: number
    idleTimeout: number
    fetch: (request: Request) => Response | Promise<Response>
  }): { readonly port: number }
}

declare const Deno: {
  readonly args: readonly string[]
  readonly version: { readonly deno: string }
  serve(
    options: { hostname: string; port: number; onListen: (address: { port: number }) => void },
    handler: (request: Request) => Response | Promise<Response>,
  ): unknown
}
