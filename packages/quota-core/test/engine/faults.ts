/** Failure injection for engine tests: simulated crashes at named points and lost page caches. */
import { closeSync, fstatSync, ftruncateSync, openSync } from 'node:fs';
import type { FaultPoint } from '../../src/runtime/commit-pipeline.js';
import { type FileSystem, nodeFileSystem } from '../../src/runtime/file-system.js';

/** Fault hooks that throw (a simulated crash) at `point` once armed. */
export function crashAt(point: FaultPoint) {
  const control = { armed: false };
  return {
    control,
    faults: {
      at(reached: FaultPoint) {
        if (control.armed && reached === point) throw new Error(`simulated crash at ${point}`);
      },
    },
  };
}

/**
 * A WAL file system that remembers the last synced length, to simulate losing the page cache.
 * `initialLength` is what the log already holds durably when the engine opens.
 */
export function powerLossFileSystem(initialLength = 0): {
  fileSystem: FileSystem;
  syncedLength: () => number;
} {
  let synced = initialLength;
  return {
    syncedLength: () => synced,
    fileSystem: {
      ...nodeFileSystem,
      fdatasync: async (fd) => {
        await nodeFileSystem.fdatasync(fd);
        synced = fstatSync(fd).size;
      },
      fdatasyncSync: (fd) => {
        nodeFileSystem.fdatasyncSync(fd);
        synced = fstatSync(fd).size;
      },
    },
  };
}

export function truncateTo(path: string, length: number): void {
  const fd = openSync(path, 'r+');
  ftruncateSync(fd, length);
  closeSync(fd);
}
