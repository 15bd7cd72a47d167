/** The FileSystem seam implemented directly on node:fs (what the engines use in production). */
import * as fs from 'node:fs';
import type { FileSystem } from './adapter.js';

export const nodeFs: FileSystem = {
  openSync: (path, flags, mode) => fs.openSync(path, flags, mode),
  closeSync: (fd) => fs.closeSync(fd),
  writeSync: (fd, buffer, offset, length, position) =>
    fs.writeSync(fd, buffer, offset, length, position),
  write: (fd, buffer, offset, length, position) =>
    new Promise((resolve, reject) =>
      fs.write(fd, buffer, offset, length, position, (error, written) =>
        error ? reject(error) : resolve(written),
      ),
    ),
  readSync: (fd, buffer, offset, length, position) =>
    fs.readSync(fd, buffer, offset, length, position),
  fdatasyncSync: (fd) => fs.fdatasyncSync(fd),
  fdatasync: (fd) =>
    new Promise((resolve, reject) =>
      fs.fdatasync(fd, (error) => (error ? reject(error) : resolve())),
    ),
  fsyncSync: (fd) => fs.fsyncSync(fd),
  ftruncateSync: (fd, length) => fs.ftruncateSync(fd, length),
  fstatSync: (fd) => fs.fstatSync(fd),
  renameSync: (from, to) => fs.renameSync(from, to),
  unlinkSync: (path) => fs.unlinkSync(path),
  mkdirSync: (path, options) => {
    fs.mkdirSync(path, options);
  },
  existsSync: (path) => fs.existsSync(path),
};
