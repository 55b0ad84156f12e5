// A classic worker that hashes one File with one algorithm, streamed in slices, so the page
// stays responsive and SHA-256 and SM3 run side by side on two cores.
/* global hashwasm */
importScripts('../vendor/hash-wasm-sha256.umd.min.js', '../vendor/hash-wasm-sm3.umd.min.js');

const FACTORIES = { sha256: () => hashwasm.createSHA256(), sm3: () => hashwasm.createSM3() };

self.onmessage = async ({ data: { file, algorithm, chunk } }) => {
  try {
    const hasher = await FACTORIES[algorithm]();
    hasher.init();
    let last = 0;
    for (let offset = 0; offset < file.size; offset += chunk) {
      hasher.update(new Uint8Array(await file.slice(offset, offset + chunk).arrayBuffer()));
      const now = Date.now();
      if (now - last > 100) {
        self.postMessage({ progress: Math.min(offset + chunk, file.size) });
        last = now;
      }
    }
    self.postMessage({ progress: file.size, digest: hasher.digest('hex') });
  } catch (err) {
    self.postMessage({ error: String(err && err.message ? err.message : err) });
  }
};
