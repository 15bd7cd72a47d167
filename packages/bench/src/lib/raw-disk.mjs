// The disk's limit: loops that only append bytes and fdatasync, with nothing else around them.
// They write the very bytes an engine wrote: the frames are cut out of the engine's own WAL
// (frame = 32-byte header with the payload length at offset 24, payload, 4-byte CRC).
import * as fs from 'node:fs';

/** Splits a WAL file into its frames (copies). */
export function readFrames(path) {
  const bytes = fs.readFileSync(path);
  const frames = [];
  let offset = 0;
  while (offset + 32 <= bytes.length) {
    const length = 36 + bytes.readUInt32LE(offset + 24);
    if (offset + length > bytes.length) break;
    frames.push(Buffer.from(bytes.subarray(offset, offset + length)));
    offset += length;
  }
  return frames;
}

/** Groups frames into buffers of `size` consecutive frames (one write each). */
export function groupFrames(frames, size) {
  const groups = [];
  for (let i = 0; i + size <= frames.length; i += size) {
    groups.push(Buffer.concat(frames.slice(i, i + size)));
  }
  return groups;
}

/** writeSync + fdatasyncSync per buffer. Returns the number of frames written. */
export function rawSyncLoop(path, buffers, framesPerBuffer = 1) {
  const fd = fs.openSync(path, 'a');
  try {
    for (const bytes of buffers) {
      fs.writeSync(fd, bytes);
      fs.fdatasyncSync(fd);
    }
  } finally {
    fs.closeSync(fd);
  }
  return buffers.length * framesPerBuffer;
}

const write = (fd, bytes) =>
  new Promise((resolve, reject) =>
    fs.write(fd, bytes, 0, bytes.length, null, (error) => (error ? reject(error) : resolve())),
  );
const fdatasync = (fd) =>
  new Promise((resolve, reject) =>
    fs.fdatasync(fd, (error) => (error ? reject(error) : resolve())),
  );

/**
 * Asynchronous write + fdatasync per buffer, on libuv's thread pool as the engines' group commit
 * does. Returns the number of frames written.
 */
export async function rawAsyncLoop(path, buffers, framesPerBuffer = 1) {
  const fd = fs.openSync(path, 'a');
  try {
    for (const bytes of buffers) {
      await write(fd, bytes);
      await fdatasync(fd);
    }
  } finally {
    fs.closeSync(fd);
  }
  return buffers.length * framesPerBuffer;
}
