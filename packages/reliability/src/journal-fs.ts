/**
 * A FileSystem that passes every call to `base` and copies each write aimed at the WAL (the file
 * named `wal`) to `onWalWrite` *before* handing it on, so the copy holds every frame that may
 * reach the log. The first call of a write carries the whole batch; the continuations of a short
 * write (buffer offset > 0) are not copied again.
 */
import { basename } from 'node:path';
import type { FileSystem } from './adapter.js';

export function journalingFs(
  base: FileSystem,
  onWalWrite: (bytes: Uint8Array) => void,
): FileSystem {
  const walFds = new Set<number>();
  return {
    ...base,
    openSync(path, flags, mode) {
      const fd = base.openSync(path, flags, mode);
      if (basename(path) === 'wal') walFds.add(fd);
      return fd;
    },
    closeSync(fd) {
      walFds.delete(fd);
      base.closeSync(fd);
    },
    write(fd, buffer, offset, length, position) {
      if (walFds.has(fd) && offset === 0) onWalWrite(buffer.subarray(0, length));
      return base.write(fd, buffer, offset, length, position);
    },
    writeSync(fd, buffer, offset, length, position) {
      if (walFds.has(fd) && offset === 0) onWalWrite(buffer.subarray(0, length));
      return base.writeSync(fd, buffer, offset, length, position);
    },
  };
}
