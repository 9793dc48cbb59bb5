// Package-wide defaults, the counterpart of onnxruntime-web's `ort.env`. Session options
// override them per session.

export const env = {
  wasm: {
    /** Where the runtime files live when not beside this package's modules (a CDN, a custom
     * layout, a bundler that does not emit `new URL(…, import.meta.url)` assets, esbuild):
     * a folder URL ("https://cdn.example/sparsegate/") or a map from file name
     * ("sparsegate.wasm", "sparsegate-mt.mjs", "sparsegate-mt.wasm", "sparsegate-mt.worker.js")
     * to its URL. */
    wasmPaths: undefined,
    /** "auto" or a number: the default of the `threads` session option. */
    numThreads: "auto",
  },
};
