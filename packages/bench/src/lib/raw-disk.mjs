// The disk's limit: loops that only write bytes and fdatasync, with nothing else around them.
// They write the very bytes an engine wrote: the frames are cut out of the engine's own WAL
// (frame = 32-byte header with the payload length at offset 24, payload, 4-byte CRC). Two
// layouts: appending to a file that grows (each fdatasync then also journals the new size and
// blocks), and overwriting a file that was preallocated, written with zeros and synced (what a
// log that reuses its space can reach: fdatasync has only the data to flush).
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

/** The header fields and payload of each frame (`readFrames`' output): for the state machine's rows. */
export function frameFields(frames) {
  return frames.map((frame) => ({
    recordType: frame[6],
    lsn: frame.readBigUInt64LE(8),
    requestSlot: frame.readBigUInt64LE(16),
    payload: frame.subarray(32, frame.length - 4),
  }));
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

/**
 * Creates `path` as `bytes` zero bytes, written for real (not a hole, not an unwritten extent)
 * and fdatasynced, so that later overwrites change no file size and allocate no block.
 */
export function preallocate(path, bytes) {
  const fd = fs.openSync(path, 'w');
  try {
    const chunk = Buffer.alloc(1 << 20);
    for (let at = 0; at < bytes; at += chunk.length) {
      fs.writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - at), at);
    }
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  const dir = fs.openSync(path.replace(/\/[^/]*$/, '') || '.', 'r');
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
}

/** Total bytes of `buffers`. */
export const totalBytes = (buffers) => buffers.reduce((sum, b) => sum + b.length, 0);

/**
 * An overwrite loop over a preallocated file: `next(buffers)` writes each buffer at the file's
 * next position and fdatasyncs after each, synchronously (`sync`) or on libuv's thread pool. The
 * position carries over between calls, so a file preallocated for several runs is written once
 * through. Returns the number of frames written.
 */
export function overwriteLoop(path, { sync }) {
  let position = 0;
  return {
    async run(buffers, framesPerBuffer = 1) {
      const fd = fs.openSync(path, 'r+');
      try {
        for (const bytes of buffers) {
          if (sync) {
            fs.writeSync(fd, bytes, 0, bytes.length, position);
            fs.fdatasyncSync(fd);
          } else {
            await writeAt(fd, bytes, position);
            await fdatasync(fd);
          }
          position += bytes.length;
        }
      } finally {
        fs.closeSync(fd);
      }
      return buffers.length * framesPerBuffer;
    },
  };
}

const writeAt = (fd, bytes, position) =>
  new Promise((resolve, reject) =>
    fs.write(fd, bytes, 0, bytes.length, position, (error) => (error ? reject(error) : resolve())),
  );
