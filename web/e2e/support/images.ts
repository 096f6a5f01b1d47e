// Valid images made in the test: PNG encoded here (zlib), JPEG drawn on a
// canvas in the browser.
import { deflateSync } from 'node:zlib';
import type { Page } from '@playwright/test';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** An RGB PNG of width×height: a diagonal gradient between two colours with a band. */
export function makePng(width: number, height: number, from: [number, number, number], to: [number, number, number]): Buffer {
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    row[0] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const t = (x / Math.max(1, width - 1) + y / Math.max(1, height - 1)) / 2;
      const band = Math.abs(y - height / 2) < height / 10;
      for (let c = 0; c < 3; c++) {
        const v = Math.round(from[c]! + (to[c]! - from[c]!) * t);
        row[1 + x * 3 + c] = band ? 255 - v : v;
      }
    }
    rows.push(row);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  ihdr[10] = 0;
  ihdr[11] = 0;
  ihdr[12] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A JPEG drawn on a canvas in the page (a real encoder, not hand-made bytes). */
export async function makeJpeg(page: Page, width: number, height: number, label: string): Promise<Buffer> {
  const b64 = await page.evaluate(
    ({ width, height, label }) => {
      const c = document.createElement('canvas');
      c.width = width;
      c.height = height;
      const g = c.getContext('2d')!;
      const grad = g.createLinearGradient(0, 0, width, height);
      grad.addColorStop(0, '#0b5cad');
      grad.addColorStop(1, '#1a7f37');
      g.fillStyle = grad;
      g.fillRect(0, 0, width, height);
      g.fillStyle = '#ffffff';
      g.font = `bold ${Math.round(height / 5)}px sans-serif`;
      g.textAlign = 'center';
      g.textBaseline = 'middle';
      g.fillText(label, width / 2, height / 2);
      return c.toDataURL('image/jpeg', 0.9).split(',')[1]!;
    },
    { width, height, label },
  );
  return Buffer.from(b64, 'base64');
}
