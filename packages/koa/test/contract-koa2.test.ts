/**
 * The adapter contract against a real Koa 2 app (the `koa2` alias of the newest `koa@2`), wired
 * exactly as `contract.test.ts` wires Koa 3 (`contract-app.ts`): the peer range declares both
 * majors, so both run the whole suite, over HTTP/1.1 and HTTP/2 (h2c).
 */
import { describeAdapterContract, startHttp2Server, startHttpServer } from '@sse/test-utils'
import Koa from 'koa2'
import { contractApp } from './contract-app.ts'

describeAdapterContract('koa 2', (fixture) => startHttpServer(contractApp(new Koa(), fixture).callback()))

describeAdapterContract('koa 2', (fixture) => startHttp2Server(contractApp(new Koa(), fixture).callback()), {
  http2: true,
})
