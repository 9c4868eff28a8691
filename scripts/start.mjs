// `npm start`: serves the demo. Until the framework examples land, that is the server clock on
// plain node:http (examples/node-http). PORT picks the port (default 3000).
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const server = fileURLToPath(new URL('../examples/node-http/server.mjs', import.meta.url))
const child = spawn(process.execPath, [server], { stdio: 'inherit' })
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
child.on('exit', (code) => process.exit(code ?? 0))
