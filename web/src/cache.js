// Model bytes kept in the Cache API, so that a second page load requests nothing. Entries are
// keyed by the model's absolute URL plus the caller's `cacheKey` (a version or a hash: change
// it to replace the entry); a damaged entry is found by the runtime's checksums and refetched.

import { SparsegateError } from "./errors.js";
import { fetchOrThrow, readBytes, responseBytes } from "./host.js";

const CACHE_NAME = "sparsegate-models";

function cacheUrl(model, cacheKey) {
  if (typeof model !== "string" && !(model instanceof URL)) {
    throw new SparsegateError("cache: true needs the model as a URL (bytes, Blobs and Responses are "
      + "already in memory)", "input");
  }
  const url = new URL(String(model), globalThis.location?.href);
  if (!/^https?:$/.test(url.protocol)) {
    throw new SparsegateError(`cache: true needs an http(s) URL, got ${url.protocol}`, "input");
  }
  if (cacheKey !== undefined) url.searchParams.set("sparsegate-cache-key", String(cacheKey));
  return url;
}

async function openCache() {
  if (typeof caches === "undefined") return null; // no Cache API (Node, insecure origins)
  try {
    return await caches.open(CACHE_NAME);
  } catch {
    return null;
  }
}

/** {bytes, cached}: the model from the cache, or fetched and then stored there. */
export async function cachedModelBytes(model, cacheKey) {
  const key = cacheUrl(model, cacheKey);
  const cache = await openCache();
  if (!cache) return { bytes: await readBytes(model, "model"), cached: false };
  const hit = await cache.match(key);
  if (hit) return { bytes: await responseBytes(hit, "model (cache)"), cached: true };
  const response = await fetchOrThrow(new URL(String(model), globalThis.location?.href), "model");
  const bytes = await responseBytes(response, "model");
  try {
    await cache.put(key, new Response(bytes, { headers: { "Content-Type": "application/octet-stream" } }));
  } catch { /* quota or private mode: the model still runs */ }
  return { bytes, cached: false };
}

export async function evictModel(model, cacheKey) {
  const cache = await openCache();
  await cache?.delete(cacheUrl(model, cacheKey));
}

/** Deletes every cached model (or the one at `model`). */
export async function clearModelCache(model, { cacheKey } = {}) {
  if (model !== undefined) return evictModel(model, cacheKey);
  if (typeof caches !== "undefined") await caches.delete(CACHE_NAME);
}
