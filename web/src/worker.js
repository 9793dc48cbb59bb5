// The module Web Worker of worker mode (Session.create(model, {worker: true})): one Session
// per worker, driven by worker/proxy.js with messages {id, op, args}.

import { env, Session } from "./index.js";
import { serveSession } from "./worker/serve.js";

serveSession(self, Session, env);
