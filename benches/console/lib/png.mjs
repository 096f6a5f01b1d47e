// Creatives for the seed: 600x400 RGB PNGs written with node:zlib (no
// encoder package), each different and about as heavy as a real display
// creative (tens to a few hundred KB): a two-colour gradient, a few
// shapes, and noise whose strength varies from image to image (noise is
// what keeps PNG from compressing it to nothing).
import { deflateSync } from 'node:zlib';

const CRC_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** A small seeded PRNG (mulberry32), so image n is the same in every seed. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Image `n` (deterministic) as PNG bytes. */
export function creativePng(n, width = 600, height = 400) {
  const r = rng(n * 2654435761 + 1);
  const c0 = [r() * 255, r() * 255, r() * 255];
  const c1 = [r() * 255, r() * 255, r() * 255];
  // noise in square cells of 2..5 px, 2..6 grey levels of 12: the cell size
  // and level count vary the weight from image to image
  const cell = 2 + Math.floor(r() * 4);
  const levels = 2 + Math.floor(r() * 5);
  const shapes = Array.from({ length: 3 + Math.floor(r() * 5) }, () => ({
    x: r() * width, y: r() * height, rad: 20 + r() * 120, round: r() < 0.5,
    col: [r() * 255, r() * 255, r() * 255],
  }));
  const row = 1 + width * 3;
  const raw = Buffer.alloc(row * height);
  let s = (n * 7919 + 17) >>> 0; // cheap noise (xorshift)
  const noise = new Float32Array(Math.ceil(width / cell) * 3);
  for (let y = 0; y < height; y++) {
    if (y % cell === 0) {
      for (let i = 0; i < noise.length; i++) {
        s ^= s << 13; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
        noise[i] = ((s % levels) - (levels - 1) / 2) * 12;
      }
    }
    raw[y * row] = y % cell === 0 ? 0 : 2; // filter: none on a cell's first row, else up
    for (let x = 0; x < width; x++) {
      const t = (x + y) / (width + height);
      let px = [c0[0] + (c1[0] - c0[0]) * t, c0[1] + (c1[1] - c0[1]) * t, c0[2] + (c1[2] - c0[2]) * t];
      for (const sh of shapes) {
        const dx = x - sh.x, dy = y - sh.y;
        const inside = sh.round ? dx * dx + dy * dy < sh.rad * sh.rad : Math.abs(dx) < sh.rad && Math.abs(dy) < sh.rad * 0.6;
        if (inside) px = sh.col;
      }
      const o = y * row + 1 + x * 3;
      for (let k = 0; k < 3; k++) {
        const v = Math.round(px[k] + noise[Math.floor(x / cell) * 3 + k]);
        raw[o + k] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 6 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
