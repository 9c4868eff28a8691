/**
 * The live page: plain HTML, CSS and JS in `public/`, served as they are (no build step). Every
 * example serves the same files at the same paths, each with its framework's own routing.
 */
import { readFileSync } from 'node:fs'

export interface Asset {
  /** The route, e.g. `/` or `/app.js`. */
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: Buffer
}

const FILES = [
  ['/', 'index.html', 'text/html; charset=utf-8'],
  ['/app.js', 'app.js', 'text/javascript; charset=utf-8'],
  ['/style.css', 'style.css', 'text/css; charset=utf-8'],
  ['/favicon.svg', 'favicon.svg', 'image/svg+xml'],
] as const

/**
 * Reads the page's files (from `src/` and from `dist/` alike: `public/` is their sibling).
 *
 * @example
 * for (const asset of loadAssets()) app.get(asset.path, (req, res) => res.set(asset.headers).send(asset.body))
 */
export function loadAssets(): Asset[] {
  return FILES.map(([path, file, type]) => ({
    path,
    headers: { 'Content-Type': type, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' },
    body: readFileSync(new URL(`../public/${file}`, import.meta.url)),
  }))
}
