/**
 * A minimal protobuf reader for ONNX models written by other tools (skl2onnx, onnxmltools,
 * torch.onnx): it decodes what model import needs to inspect and rewrite — opsets, producer, graph
 * inputs/outputs with their types, nodes — and keeps every field's encoded bytes so a rewrite can
 * copy what it does not touch unchanged. Field numbers follow onnx/onnx.proto.
 */
import { ValidationError } from '../../errors';

/** One decoded protobuf field: its number, wire type, value, and its encoded bytes (tag included). */
export interface WireField {
  readonly field: number;
  readonly wire: 0 | 1 | 2 | 5;
  /** Varint value (wire type 0). */
  readonly int: bigint;
  /** Payload of a length-delimited field (wire type 2); empty otherwise. */
  readonly bytes: Uint8Array;
  /** The whole field as encoded, to copy it unchanged. */
  readonly raw: Uint8Array;
}

const EMPTY: Uint8Array = new Uint8Array(0);
const decoder = new TextDecoder();

function corrupt(what: string): ValidationError {
  return new ValidationError(`the ONNX file is not a valid protobuf message (${what}).`, {
    location: 'model.onnx',
  });
}

/** Decodes the fields of one protobuf message, in order. Groups (wire types 3, 4) are refused. */
export function decodeFields(buffer: Uint8Array): WireField[] {
  const fields: WireField[] = [];
  let offset = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (offset >= buffer.length) throw corrupt('truncated varint');
      const byte = buffer[offset++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw corrupt('varint too long');
    }
  };
  while (offset < buffer.length) {
    const start = offset;
    const tag = Number(varint());
    const field = tag >>> 3;
    const wire = tag & 7;
    let int = 0n;
    let bytes: Uint8Array = EMPTY;
    if (wire === 0) int = varint();
    else if (wire === 1) offset += 8;
    else if (wire === 5) offset += 4;
    else if (wire === 2) {
      const length = Number(varint());
      if (offset + length > buffer.length) throw corrupt('truncated field');
      bytes = buffer.subarray(offset, offset + length);
      offset += length;
    } else throw corrupt(`unsupported wire type ${wire}`);
    if (offset > buffer.length || field === 0) throw corrupt('truncated field');
    fields.push({ field, wire: wire as 0 | 1 | 2 | 5, int, bytes, raw: buffer.subarray(start, offset) });
  }
  return fields;
}

/** The text of a string field. */
export function text(field: WireField): string {
  return decoder.decode(field.bytes);
}

/** ONNX tensor element types by code (the ones a model input or output may have). */
export const ELEMENT_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'float',
  2: 'uint8',
  3: 'int8',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'double',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
};

/** The type of a graph input or output: a tensor with element type and shape, or something else. */
export type OnnxValueType =
  | {
      readonly kind: 'tensor';
      readonly elementType: number;
      /** Dimensions: a number, a symbolic name, or null when unknown; null when the rank is unknown. */
      readonly shape: readonly (number | string | null)[] | null;
    }
  | { readonly kind: 'sequence' | 'map' | 'optional' | 'sparse' | 'unknown' };

/** A graph input or output. */
export interface OnnxValueInfo {
  readonly name: string;
  readonly type: OnnxValueType;
}

/** A graph node, decoded enough to rewire it. */
export interface OnnxNode {
  readonly opType: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Whether an attribute holds a subgraph (If, Loop, Scan): names inside it are not rewritten. */
  readonly hasSubgraph: boolean;
  readonly fields: readonly WireField[];
}

/** What model import needs to know about an ONNX model. */
export interface OnnxModelInfo {
  readonly irVersion: number;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly opsets: Readonly<Record<string, number>>;
  readonly metadata: Readonly<Record<string, string>>;
  /** Graph inputs that are not initializers (what a caller feeds). */
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  readonly nodes: readonly OnnxNode[];
  readonly initializers: ReadonlySet<string>;
  /** The model's top-level fields and the graph's fields, for rewriting. */
  readonly modelFields: readonly WireField[];
  readonly graphFields: readonly WireField[];
}

function valueType(bytes: Uint8Array): OnnxValueType {
  for (const f of decodeFields(bytes)) {
    if (f.field === 1 && f.wire === 2) {
      let elementType = 0;
      let shape: (number | string | null)[] | null = null;
      for (const t of decodeFields(f.bytes)) {
        if (t.field === 1 && t.wire === 0) elementType = Number(t.int);
        if (t.field === 2 && t.wire === 2) {
          shape = [];
          for (const d of decodeFields(t.bytes)) {
            if (d.field !== 1) continue;
            let dim: number | string | null = null;
            for (const x of decodeFields(d.bytes)) {
              if (x.field === 1 && x.wire === 0) dim = Number(BigInt.asIntN(64, x.int));
              if (x.field === 2 && x.wire === 2) dim = text(x);
            }
            shape.push(dim);
          }
        }
      }
      return { kind: 'tensor', elementType, shape };
    }
    if (f.field === 4) return { kind: 'sequence' };
    if (f.field === 5) return { kind: 'map' };
    if (f.field === 9) return { kind: 'optional' };
    if (f.field === 8) return { kind: 'sparse' };
  }
  return { kind: 'unknown' };
}

function valueInfo(bytes: Uint8Array): OnnxValueInfo {
  let name = '';
  let type: OnnxValueType = { kind: 'unknown' };
  for (const f of decodeFields(bytes)) {
    if (f.field === 1 && f.wire === 2) name = text(f);
    if (f.field === 2 && f.wire === 2) type = valueType(f.bytes);
  }
  return { name, type };
}

/** Decodes a NodeProto. */
export function decodeNode(bytes: Uint8Array): OnnxNode {
  const inputs: string[] = [];
  const outputs: string[] = [];
  let opType = '';
  let domain = '';
  let hasSubgraph = false;
  const fields = decodeFields(bytes);
  for (const f of fields) {
    if (f.field === 1 && f.wire === 2) inputs.push(text(f));
    else if (f.field === 2 && f.wire === 2) outputs.push(text(f));
    else if (f.field === 4 && f.wire === 2) opType = text(f);
    else if (f.field === 7 && f.wire === 2) domain = text(f);
    else if (f.field === 5 && f.wire === 2)
      // AttributeProto: g = 6, graphs = 11.
      hasSubgraph ||= decodeFields(f.bytes).some((a) => a.field === 6 || a.field === 11);
  }
  return { opType, domain: domain === 'ai.onnx' ? '' : domain, inputs, outputs, hasSubgraph, fields };
}

/** Reads an ONNX model's interface and nodes. A file that is not an ONNX model is a ValidationError. */
export function readOnnxModel(bytes: Uint8Array): OnnxModelInfo {
  const modelFields = decodeFields(bytes);
  let irVersion = 0;
  let producerName = '';
  let producerVersion = '';
  const opsets: Record<string, number> = {};
  const metadata: Record<string, string> = {};
  let graph: Uint8Array | undefined;
  for (const f of modelFields) {
    if (f.field === 1 && f.wire === 0) irVersion = Number(f.int);
    else if (f.field === 2 && f.wire === 2) producerName = text(f);
    else if (f.field === 3 && f.wire === 2) producerVersion = text(f);
    else if (f.field === 7 && f.wire === 2) graph = f.bytes;
    else if (f.field === 8 && f.wire === 2) {
      let domain = '';
      let version = 0;
      for (const o of decodeFields(f.bytes)) {
        if (o.field === 1 && o.wire === 2) domain = text(o);
        if (o.field === 2 && o.wire === 0) version = Number(o.int);
      }
      opsets[domain === 'ai.onnx' ? '' : domain] = version;
    } else if (f.field === 14 && f.wire === 2) {
      let key = '';
      let value = '';
      for (const e of decodeFields(f.bytes)) {
        if (e.field === 1 && e.wire === 2) key = text(e);
        if (e.field === 2 && e.wire === 2) value = text(e);
      }
      metadata[key] = value;
    }
  }
  if (!graph || irVersion === 0)
    throw new ValidationError(
      'the file is not an ONNX model (no graph or IR version); export it to ONNX first.',
      {
        location: 'model.onnx',
      },
    );
  const graphFields = decodeFields(graph);
  const nodes: OnnxNode[] = [];
  const initializers = new Set<string>();
  const declaredInputs: OnnxValueInfo[] = [];
  const outputs: OnnxValueInfo[] = [];
  for (const f of graphFields) {
    if (f.field === 1 && f.wire === 2) nodes.push(decodeNode(f.bytes));
    else if ((f.field === 5 || f.field === 15) && f.wire === 2) {
      // TensorProto.name = 8; SparseTensorProto.values = 1 (a TensorProto whose name is the sparse tensor's).
      const tensor = f.field === 5 ? f.bytes : decodeFields(f.bytes).find((s) => s.field === 1)?.bytes;
      const name = tensor ? decodeFields(tensor).find((t) => t.field === 8 && t.wire === 2) : undefined;
      if (name) initializers.add(text(name));
    } else if (f.field === 11 && f.wire === 2) declaredInputs.push(valueInfo(f.bytes));
    else if (f.field === 12 && f.wire === 2) outputs.push(valueInfo(f.bytes));
  }
  return {
    irVersion,
    producerName,
    producerVersion,
    opsets,
    metadata,
    inputs: declaredInputs.filter((i) => !initializers.has(i.name)),
    outputs,
    nodes,
    initializers,
    modelFields,
    graphFields,
  };
}

/** A value type as text, for error messages: `float[N,4]`, `sequence`, … */
export function describeType(type: OnnxValueType): string {
  if (type.kind !== 'tensor')
    return type.kind === 'sequence' ? 'sequence (e.g. of maps: a ZipMap output)' : type.kind;
  const element = ELEMENT_TYPE_NAMES[type.elementType] ?? `type ${type.elementType}`;
  return `${element}[${type.shape ? type.shape.map((d) => d ?? '?').join(',') : '…'}]`;
}
