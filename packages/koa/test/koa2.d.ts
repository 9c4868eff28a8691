// `koa2` is `koa@2` installed under an alias, for the Koa 2 contract run. Its API as this adapter
// uses it is the one `@types/koa` (3) describes, so the alias borrows those types.
declare module 'koa2' {
  import Koa from 'koa'
  export default Koa
}
