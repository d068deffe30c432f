// node_types.ts: the few Node globals the public declarations name (AbortSignal,
// NodeJS.ProcessEnv), declared empty so that dist/index.d.ts compiles for a consumer
// without @types/node (or the DOM lib). An empty interface merges with the real one
// where that exists, so nothing changes for code that has it; without it the
// parameters typed with these names take any object.
declare global {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface AbortSignal {}
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace NodeJS {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface ProcessEnv {}
  }
}

export {};
