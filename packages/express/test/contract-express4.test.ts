/**
 * The shared adapter contract against a real Express 4 app (the `express4` alias of the newest
 * `express@4`) on port 0, wired exactly as `contract.test.ts` wires Express 5 (`contract-app.ts`):
 * the peer range declares both majors, so both run the whole suite.
 */
import { describeAdapterContract, startHttpServer } from '@sse/test-utils'
import express from 'express4'
import { contractApp } from './contract-app.ts'

describeAdapterContract('express 4', (fixture) => startHttpServer(contractApp(express(), fixture)))
