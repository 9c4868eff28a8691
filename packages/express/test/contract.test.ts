/** The shared adapter contract against a real Express 5 app on port 0 (routes in `contract-app.ts`). */
import { describeAdapterContract, startHttpServer } from '@sse/test-utils'
import express from 'express'
import { contractApp } from './contract-app.ts'

describeAdapterContract('express', (fixture) => startHttpServer(contractApp(express(), fixture)))
