import { sse } from '@sse/express'
import express from 'express'

const app = express()

app.get('/clock', (req, res) => {
  const stream = sse(req, res)
  const timer = setInterval(() => stream.send({ event: 'tick', data: new Date().toISOString() }), 1000)
  stream.onClose(() => clearInterval(timer)) // the client left, or the server closed the stream
})

app.listen(process.env.PORT ?? 3000)
