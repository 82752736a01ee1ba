// capstone.js ships no types: its default export is the Emscripten module factory.
declare module '@alexaltea/capstone-js' {
  const factory: () => Promise<unknown>;
  export default factory;
}
