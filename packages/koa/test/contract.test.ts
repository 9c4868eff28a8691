/**
 * The adapter contract against a real Koa 3 app (routes in `contract-app.ts`), on a real socket on
 * port 0, over HTTP/1.1 and over HTTP/2 (h2c, through Node's compatibility API, which Koa runs on
 * unchanged).
 */
import { describeAdapterContract, startHttp2Server, startHttpServer } from '@sse/test-utils'
import Koa from 'koa'
import { contractApp } from './contract-app.ts'

describeAdapterContract('koa', (fixture) => startHttpServer(contractApp(new Koa(), fixture).callback()))

describeAdapterContract('koa', (fixture) => startHttp2Server(contractApp(new Koa(), fixture).callback()), {
  http2: true,
})
