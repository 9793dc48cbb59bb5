// The package's Node entry (package.json "node" condition): the browser entry plus a host that
// reads file paths and starts the pthreads build under Node.
import "./node/host.js";

export * from "./index.js";
export { default } from "./index.js";
