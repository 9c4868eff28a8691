/**
 * README examples that run as written: each package keeps its README's code in `test/readme/`
 * files that its tests run, and this check ties the two together. Every ```ts block of the
 * README must be an excerpt of one of the files, and every non-blank character of every file
 * must be shown by some block, so neither can drift from the other.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { expect } from 'vitest'

/** The bodies of the README's ```ts blocks, in order. */
export function readmeCodeBlocks(readme: URL): string[] {
  const markdown = readFileSync(readme, 'utf8')
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1]!)
}

/**
 * Asserts that the README shows exactly the example files of `examplesDir` (see the file comment);
 * returns the file names, sorted.
 *
 * @example
 * it('shows the examples as they are tested', () => {
 *   expectReadmeShowsExamples(new URL('../README.md', import.meta.url), new URL('./readme/', import.meta.url))
 * })
 */
export function expectReadmeShowsExamples(readme: URL, examplesDir: URL, only?: readonly string[]): string[] {
  const names = (only ?? readdirSync(examplesDir).filter((name) => name.endsWith('.ts'))).slice().sort()
  expectReadmeShowsFiles(
    readme,
    names.map((name) => new URL(name, examplesDir)),
  )
  return names
}

/** The same check against any list of files (a README that shows examples of several packages). */
export function expectReadmeShowsFiles(readme: URL, files: readonly URL[]): void {
  const blocks = readmeCodeBlocks(readme)
  expect(files.length, 'example files').toBeGreaterThan(0)
  const sources = files.map((file) => [file.pathname, readFileSync(file, 'utf8')] as const)
  for (const block of blocks) {
    const home = sources.find(([, source]) => source.includes(block))
    expect(home, `this README block is in none of the example files:\n${block}`).toBeDefined()
  }
  for (const [name, source] of sources) {
    const shown = new Array<boolean>(source.length).fill(false)
    for (const block of blocks) {
      for (let at = source.indexOf(block); at >= 0; at = source.indexOf(block, at + 1)) {
        shown.fill(true, at, at + block.length)
      }
    }
    const hidden = source
      .split('')
      .filter((char, i) => !shown[i] && char.trim() !== '')
      .join('')
    expect(hidden, `${name}: code the README does not show`).toBe('')
  }
}
