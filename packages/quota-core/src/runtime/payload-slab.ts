/**
 * Storage for the payloads of submitted requests. Every submission needs bytes of its own (the
 * frame is written after the submit call returns), and a Uint8Array with its own ArrayBuffer per
 * request is costly to allocate and to collect. Payloads are instead copied into views of a
 * shared slab; a slab is replaced when full and freed by the garbage collector once no payload
 * refers to it.
 *
 * Part of the copied runtime (see docs/architecture.md): imports nothing outside Node built-ins
 * and `src/runtime/`.
 */

/** Bytes per slab: room for several hundred typical requests (larger ones get their own copy). */
const SLAB_BYTES = 64 * 1024;

export class PayloadSlab {
  private slab = new Uint8Array(SLAB_BYTES);
  private used = 0;

  /** A copy of `bytes` that no later copy overwrites. */
  copy(bytes: Uint8Array): Uint8Array {
    const length = bytes.byteLength;
    if (length > SLAB_BYTES) return bytes.slice();
    if (this.used + length > SLAB_BYTES) {
      this.slab = new Uint8Array(SLAB_BYTES);
      this.used = 0;
    }
    const start = this.used;
    this.slab.set(bytes, start);
    this.used = start + length;
    return this.slab.subarray(start, start + length);
  }
}
