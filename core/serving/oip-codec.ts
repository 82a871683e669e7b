import { z } from 'zod';

/**
 * The Open Inference Protocol v2 wire format (KServe/Triton REST): a JSON request, optionally
 * followed by the binary tensor extension (`Inference-Header-Content-Length` gives the JSON's
 * length; each input with `parameters.binary_data_size` takes that many bytes, in input order).
 * Decoding checks every datatype and value, so nothing unscoreable (a string, a null) reaches a
 * model as NaN or 0.
 */

/** OIP datatypes and their byte widths in the binary extension (BYTES is length-prefixed). */
const WIDTH: Readonly<Record<string, number>> = {
  BOOL: 1,
  INT8: 1,
  UINT8: 1,
  INT16: 2,
  UINT16: 2,
  INT32: 4,
  UINT32: 4,
  INT64: 8,
  UINT64: 8,
  FP16: 2,
  FP32: 4,
  FP64: 8,
  BYTES: 0,
};

/** Datatypes holding numbers. */
export const NUMERIC_DATATYPES = new Set(
  Object.keys(WIDTH).filter((d) => d !== 'BOOL' && d !== 'BYTES' && d !== 'FP16'),
);

/** A request tensor as decoded: flat values in row-major order. */
export interface DecodedTensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly values: readonly (number | string | boolean)[];
}

/** A decoded inference request. */
export interface DecodedInferRequest {
  readonly id: string | undefined;
  readonly inputs: readonly DecodedTensor[];
  /** Outputs the client asked for (none: all), and whether each should come back binary. */
  readonly outputs: readonly { readonly name: string; readonly binary: boolean }[] | undefined;
  /** `parameters.binary_data_output`: every output binary unless an output says otherwise. */
  readonly binaryOutput: boolean;
  readonly parameters: Readonly<Record<string, unknown>>;
}

/** A request the codec cannot accept; the message says what and where. */
export class OipRequestError extends Error {}

const tensorSchema = z
  .object({
    name: z.string().min(1),
    shape: z.array(z.number().int().min(0)),
    datatype: z.string().min(1),
    data: z.array(z.unknown()).optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
const requestSchema = z
  .object({
    id: z.string().optional(),
    // KServe's client repeats the model (the URL names it); accepted, not needed.
    model_name: z.string().optional(),
    model_version: z.string().optional(),
    inputs: z.array(tensorSchema).min(1),
    outputs: z
      .array(
        z
          .object({ name: z.string().min(1), parameters: z.record(z.string(), z.unknown()).optional() })
          .strict(),
      )
      .optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/**
 * Decodes a request body: `body` is parsed JSON, or raw bytes with `headerLength` (the binary
 * extension) or without (JSON sent with no or another content type).
 */
export function decodeInferRequest(body: unknown, headerLength: number | undefined): DecodedInferRequest {
  let json: unknown = body;
  let binary: Buffer = Buffer.alloc(0);
  if (Buffer.isBuffer(body)) {
    const length = headerLength ?? body.length;
    if (!Number.isInteger(length) || length < 0 || length > body.length)
      throw new OipRequestError(
        `Inference-Header-Content-Length ${headerLength} does not fit a body of ${body.length} bytes`,
      );
    try {
      json = JSON.parse(body.subarray(0, length).toString('utf8'));
    } catch {
      throw new OipRequestError('the inference request header is not valid JSON');
    }
    binary = body.subarray(length);
  }
  const parsed = requestSchema.safeParse(json);
  if (!parsed.success)
    throw new OipRequestError(
      `inference request: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'} ${i.message}`).join('; ')}`,
    );
  const request = parsed.data;
  let offset = 0;
  const inputs = request.inputs.map((t) => {
    if (!(t.datatype in WIDTH))
      throw new OipRequestError(
        `input "${t.name}": unknown datatype ${t.datatype} (one of ${Object.keys(WIDTH).join(', ')})`,
      );
    if (t.datatype === 'FP16')
      throw new OipRequestError(`input "${t.name}": FP16 is not supported; send FP32`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    const size = t.parameters?.binary_data_size;
    let values: (number | string | boolean)[];
    if (size !== undefined) {
      if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || offset + size > binary.length)
        throw new OipRequestError(
          `input "${t.name}": binary_data_size ${String(size)} exceeds the ${binary.length - offset} bytes left after the JSON header`,
        );
      values = fromBinary(t.name, t.datatype, binary.subarray(offset, offset + size), count);
      offset += size;
    } else {
      if (!t.data)
        throw new OipRequestError(`input "${t.name}": needs "data" or parameters.binary_data_size`);
      values = fromJson(t.name, t.datatype, t.data);
    }
    if (values.length !== count)
      throw new OipRequestError(
        `input "${t.name}": shape [${t.shape.join(', ')}] needs ${count} values, got ${values.length}`,
      );
    return { name: t.name, datatype: t.datatype, shape: t.shape, values };
  });
  if (offset !== binary.length)
    throw new OipRequestError(
      `${binary.length - offset} bytes after the last binary input belong to no input`,
    );
  const binaryOutput = request.parameters?.binary_data_output === true;
  return {
    id: request.id,
    inputs,
    outputs: request.outputs?.map((o) => ({
      name: o.name,
      binary: typeof o.parameters?.binary_data === 'boolean' ? o.parameters.binary_data : binaryOutput,
    })),
    binaryOutput,
    parameters: request.parameters ?? {},
  };
}

/** JSON `data`: flat or nested (row-major), each value of the tensor's datatype. */
function fromJson(name: string, datatype: string, data: readonly unknown[]): (number | string | boolean)[] {
  const flat = (data as unknown[]).flat(Infinity);
  return flat.map((v, i) => {
    const where = `input "${name}" value ${i}`;
    if (datatype === 'BYTES') {
      if (typeof v !== 'string')
        throw new OipRequestError(`${where} must be a string (BYTES), got ${describe(v)}`);
      return v;
    }
    if (datatype === 'BOOL') {
      if (typeof v !== 'boolean')
        throw new OipRequestError(`${where} must be true or false (BOOL), got ${describe(v)}`);
      return v;
    }
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new OipRequestError(`${where} must be a finite number (${datatype}), got ${describe(v)}`);
    if (datatype !== 'FP32' && datatype !== 'FP64' && !Number.isInteger(v))
      throw new OipRequestError(`${where} must be an integer (${datatype}), got ${v}`);
    return v;
  });
}

/** Binary extension data: little-endian fixed-width values, or 4-byte-length-prefixed BYTES. */
function fromBinary(
  name: string,
  datatype: string,
  bytes: Buffer,
  count: number,
): (number | string | boolean)[] {
  const out: (number | string | boolean)[] = [];
  if (datatype === 'BYTES') {
    let at = 0;
    while (at < bytes.length) {
      if (at + 4 > bytes.length)
        throw new OipRequestError(`input "${name}": truncated BYTES element ${out.length}`);
      const length = bytes.readUInt32LE(at);
      if (at + 4 + length > bytes.length)
        throw new OipRequestError(`input "${name}": BYTES element ${out.length} runs past its data`);
      out.push(bytes.subarray(at + 4, at + 4 + length).toString('utf8'));
      at += 4 + length;
    }
    return out;
  }
  const width = WIDTH[datatype]!;
  if (bytes.length !== count * width)
    throw new OipRequestError(
      `input "${name}": ${count} ${datatype} values take ${count * width} bytes, binary_data_size says ${bytes.length}`,
    );
  for (let i = 0; i < count; i++) {
    const at = i * width;
    let v: number | boolean;
    switch (datatype) {
      case 'BOOL':
        v = bytes[at] !== 0;
        break;
      case 'INT8':
        v = bytes.readInt8(at);
        break;
      case 'UINT8':
        v = bytes.readUInt8(at);
        break;
      case 'INT16':
        v = bytes.readInt16LE(at);
        break;
      case 'UINT16':
        v = bytes.readUInt16LE(at);
        break;
      case 'INT32':
        v = bytes.readInt32LE(at);
        break;
      case 'UINT32':
        v = bytes.readUInt32LE(at);
        break;
      case 'INT64':
        v = Number(bytes.readBigInt64LE(at));
        break;
      case 'UINT64':
        v = Number(bytes.readBigUInt64LE(at));
        break;
      case 'FP32':
        v = bytes.readFloatLE(at);
        break;
      default:
        v = bytes.readDoubleLE(at);
    }
    if (typeof v === 'number' && !Number.isFinite(v))
      throw new OipRequestError(`input "${name}" value ${i} is not a finite number`);
    out.push(v);
  }
  return out;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? 'a string' : typeof v === 'object' ? 'an object' : String(v);
}

/** A response tensor. */
export interface OutputTensor {
  readonly name: string;
  readonly datatype: 'FP32' | 'BYTES';
  readonly shape: readonly number[];
  readonly data: readonly (number | string)[];
}

/**
 * Encodes a response: plain JSON, or — when any requested output is binary — the JSON header
 * followed by those outputs' bytes, with the header's length to send as
 * `Inference-Header-Content-Length`.
 */
export function encodeInferResponse(
  head: Readonly<Record<string, unknown>>,
  outputs: readonly OutputTensor[],
  request: Pick<DecodedInferRequest, 'outputs' | 'binaryOutput'>,
): { body: string | Buffer; headerLength: number | undefined } {
  const wanted = request.outputs
    ? outputs.filter((o) => request.outputs!.some((r) => r.name === o.name))
    : outputs;
  const binaryOf = (name: string) =>
    request.outputs?.find((r) => r.name === name)?.binary ?? request.binaryOutput;
  const chunks: Buffer[] = [];
  const described = wanted.map((o) => {
    if (!binaryOf(o.name)) return o;
    const bytes =
      o.datatype === 'FP32'
        ? Buffer.from(Float32Array.from(o.data as number[]).buffer)
        : Buffer.concat(
            (o.data as string[]).flatMap((s) => {
              const text = Buffer.from(s, 'utf8');
              const length = Buffer.alloc(4);
              length.writeUInt32LE(text.length);
              return [length, text];
            }),
          );
    chunks.push(bytes);
    return {
      name: o.name,
      datatype: o.datatype,
      shape: o.shape,
      parameters: { binary_data_size: bytes.length },
    };
  });
  const json = JSON.stringify({ ...head, outputs: described });
  if (chunks.length === 0) return { body: json, headerLength: undefined };
  const header = Buffer.from(json, 'utf8');
  return { body: Buffer.concat([header, ...chunks]), headerLength: header.length };
}
