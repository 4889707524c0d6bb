/**
 * A tar archive (POSIX ustar) of one directory of files, built in memory, so
 * that the page can offer a model directory as one download: `tar xf` (on
 * Linux, macOS and Windows 10+) gives back the directory `multiloss predict`
 * loads. Names must be ASCII and short (they are: model.json, weights.bin…).
 */
const BLOCK = 512;

function header(name: string, size: number, type: '0' | '5', mtime: number): Uint8Array {
  if (!/^[\x20-\x7e]{1,99}$/.test(name)) throw new Error(`tar: unsupported file name ${JSON.stringify(name)}`);
  const h = new Uint8Array(BLOCK);
  const put = (text: string, at: number) => h.set(new TextEncoder().encode(text), at);
  const octal = (n: number, width: number) => n.toString(8).padStart(width - 1, '0');
  put(name, 0);
  put(octal(type === '5' ? 0o755 : 0o644, 8), 100);
  put(octal(0, 8), 108);
  put(octal(0, 8), 116);
  put(octal(size, 12), 124);
  put(octal(mtime, 12), 136);
  put('        ', 148); // the checksum counts its own field as spaces
  put(type, 156);
  put('ustar\u000000', 257);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${octal(sum, 7)}\u0000`, 148);
  return h;
}

/** `dir/` and its files, as the bytes of a .tar file. */
export function tarDirectory(dir: string, files: readonly { name: string; data: ArrayBuffer }[], mtime = Math.floor(Date.now() / 1000)): Uint8Array {
  const parts: Uint8Array[] = [header(`${dir}/`, 0, '5', mtime)];
  for (const f of files) {
    const data = new Uint8Array(f.data);
    parts.push(header(`${dir}/${f.name}`, data.length, '0', mtime), data, new Uint8Array((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  parts.push(new Uint8Array(2 * BLOCK));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
