// `npm install` at the root would build a second, unlocked node_modules; this workspace is pnpm's.
// `npm test` / `npm start` install with the pinned pnpm themselves (scripts/bootstrap.mjs).
const agent = process.env.npm_config_user_agent ?? ''
if (!agent.startsWith('pnpm/')) {
  console.error('This workspace installs with pnpm. Run `npm test` or `npm start` (they install for you),')
  console.error('or `npx -y pnpm@10.34.9 install`.')
  process.exit(1)
}
