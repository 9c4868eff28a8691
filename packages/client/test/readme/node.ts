import { connect } from '@sse/client'

type Events = { tick: string; price: { symbol: string; price: number } }

async function getToken() {
  return process.env.API_TOKEN ?? 'dev-token' // or refresh an OAuth token here
}

const source = connect<Events>('http://localhost:3000/events', {
  headers: async () => ({ Authorization: `Bearer ${await getToken()}` }), // before every attempt
  json: { price: true }, // tick stays a string
  signal: AbortSignal.timeout(60_000),
})

for await (const event of source) {
  if (event.type === 'price') console.log(event.data.symbol, event.data.price)
  else console.log('tick', event.data)
}
console.log('done')
