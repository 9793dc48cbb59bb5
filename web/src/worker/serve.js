// The worker side of worker mode: runs the one Session of this worker and answers
// {id, op, args} with {id, value} or {id, error: {message, code}}; outputs are transferred.

export function serveSession(scope, Session, env) {
  let session = null;
  const ops = {
    async create({ model, options, wasmPaths }) {
      env.wasm.wasmPaths = wasmPaths;
      session = await Session.create(model, { ...options, worker: false });
      let metadataText = "";
      try {
        metadataText = JSON.stringify(session.metadata);
      } catch { /* invalid META: the page's session.metadata throws as it would without a worker */ }
      return {
        inputs: session.inputs, outputs: session.outputs, metadataText,
        info: { ...session.backendInfo, worker: true }, runtimeVersion: session.runtimeVersion,
        stats: session.stats(),
      };
    },
    async run({ arrays }) {
      const named = Object.fromEntries(session.inputs.map((t, i) => [t.name, arrays[i]]));
      const out = await session.run(named);
      const datas = session.outputs.map((t) => out[t.name].data);
      return { value: { arrays: datas, stats: session.stats() }, transfer: datas.map((d) => d.buffer) };
    },
    setGate: ({ gate }) => session.setGate(gate),
    release: () => session?.release(),
  };
  scope.onmessage = async ({ data: { id, op, args } }) => {
    try {
      const result = await ops[op](args);
      if (result && result.transfer) scope.postMessage({ id, value: result.value }, result.transfer);
      else scope.postMessage({ id, value: result });
    } catch (e) {
      scope.postMessage({ id, error: { message: e?.message ?? String(e), code: e?.code ?? "invalid" } });
    }
  };
}
