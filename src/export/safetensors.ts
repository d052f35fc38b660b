import { FileError } from '../errors.js';

/** A float32 tensor by name, as safetensors stores it. */
export interface NamedTensor {
  shape: number[];
  values: Float32Array;
}

/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
 * `{ name: { dtype, shape, data_offsets } }`, then the raw little-endian tensor bytes. Float32 only.
 */
export function encodeSafetensors(tensors: ReadonlyMap<string, NamedTensor>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', producer: 'mtgraph' } };
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = t.values.length * 4;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned.
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of tensors.values()) {
    for (let i = 0; i < t.values.length; i++) view.setFloat32(at + i * 4, t.values[i]!, true);
    at += t.values.length * 4;
  }
  return out;
}

/** Reads a safetensors file's float32 tensors (other dtypes are refused). */
export function decodeSafetensors(bytes: Uint8Array, where = 'weights'): Map<string, NamedTensor> {
  const bad = (what: string) =>
    new FileError(
      `mtgraph/import: ${where} is not a readable safetensors file (${what}). Pass the weights.safetensors that train.py or the export wrote.`,
      { path: where },
    );
  if (bytes.length < 8) throw bad(`${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = Number(view.getBigUint64(0, true));
  if (size > bytes.length - 8) throw bad(`header of ${size} bytes in a file of ${bytes.length}`);
  let header: Record<string, { dtype?: string; shape?: number[]; data_offsets?: number[] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + size)));
  } catch {
    throw bad('its header is not JSON');
  }
  const base = 8 + size;
  const out = new Map<string, NamedTensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = info.data_offsets ?? [];
    if (info.dtype !== 'F32') throw bad(`tensor ${JSON.stringify(name)} is ${info.dtype}, not F32`);
    if (
      !Array.isArray(info.shape) ||
      typeof begin !== 'number' ||
      typeof end !== 'number' ||
      base + end > bytes.length ||
      end - begin !== 4 * info.shape.reduce((a, b) => a * b, 1)
    )
      throw bad(`tensor ${JSON.stringify(name)} has a wrong shape or offsets`);
    const values = new Float32Array((end - begin) / 4);
    for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(base + begin + i * 4, true);
    out.set(name, { shape: [...info.shape], values });
  }
  return out;
}
