// `express4` is `express@4` installed under an alias, for the Express 4 contract run. Its API as
// this adapter uses it is the one `@types/express` (5) describes, so the alias borrows those types.
declare module 'express4' {
  import express from 'express'
  export default express
}
