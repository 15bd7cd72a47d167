/**
 * Deliberately broken decoders, for the canary test that shows the fuzzer catches an untyped
 * exception, an allocation from an untrusted length, and a hang.
 */
import type { FuzzTarget } from '../adapter.js';

const seeds = [new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), new Uint8Array(40)];

export const CANARY_FUZZ_TARGETS: FuzzTarget[] = [
  {
    name: 'canary: throws a TypeError on some inputs',
    seeds,
    decode(bytes) {
      if (bytes[0] === 0x42) throw new TypeError('untyped failure');
      return bytes.length;
    },
    isTypedError: () => false,
  },
  {
    name: 'canary: allocates what a length field says',
    seeds,
    decode(bytes) {
      if (bytes.length < 4) return 0;
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return new Uint8Array(view.getUint32(0, true) & 0x3ff_ffff);
    },
    isTypedError: () => false,
  },
  {
    name: 'canary: loops forever on some inputs',
    seeds,
    decode(bytes) {
      if (bytes[0] === 0xab) for (;;);
      return bytes.length;
    },
    isTypedError: () => false,
  },
];
