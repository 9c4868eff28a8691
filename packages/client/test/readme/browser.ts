import { connect } from '@sse/client'

// Was: const source = new EventSource('/events', { withCredentials: true })
const source = connect('/events', { credentials: 'include' })
source.onOpen(() => console.log('open'))
source.on('message', (event) => console.log('message', event.data, event.lastEventId))
source.onReconnecting(({ attempt, delay }) => console.log(`reconnecting (attempt ${attempt}) in ${delay} ms`))
