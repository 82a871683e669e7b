/**
 * A minimal protobuf writer for the subset of `onnx.proto` our exporters use (ModelProto, GraphProto,
 * NodeProto, AttributeProto, TensorProto, ValueInfoProto). Field numbers follow onnx/onnx.proto
 * (IR version 8). Repeated scalars are written packed, which every protobuf parser accepts.
 */

/** ONNX tensor element types we emit. */
export const ElementType = { FLOAT: 1, INT64: 7, DOUBLE: 11 } as const;
/** One of {@link ElementType}. */
export type ElementTypeCode = (typeof ElementType)[keyof typeof ElementType];

/** A protobuf writer: fields appended in order, nested messages length-prefixed. */
export class Writer {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  varint(value: number | bigint): void {
    // Negative int64 values are ten-byte two's complement.
    let v = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    this.push(Uint8Array.from(out));
  }

  tag(field: number, wire: 0 | 1 | 2 | 5): void {
    this.varint((field << 3) | wire);
  }

  bytes(field: number, data: Uint8Array): void {
    this.tag(field, 2);
    this.varint(data.length);
    this.push(data);
  }

  string(field: number, value: string | undefined): void {
    if (value === undefined || value === '') return;
    this.bytes(field, new TextEncoder().encode(value));
  }

  int(field: number, value: number | bigint | undefined): void {
    if (value === undefined) return;
    this.tag(field, 0);
    this.varint(value);
  }

  float(field: number, value: number): void {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
  }

  packedFloats(field: number, values: ArrayLike<number>): void {
    if (values.length === 0) return;
    const b = new Uint8Array(values.length * 4);
    const view = new DataView(b.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
    this.bytes(field, b);
  }

  packedInts(field: number, values: ArrayLike<number | bigint>): void {
    if (values.length === 0) return;
    const inner = new Writer();
    for (let i = 0; i < values.length; i++) inner.varint(values[i]!);
    this.bytes(field, inner.finish());
  }

  /** Appends bytes that are already an encoded field (tag included), e.g. one copied from a parsed message. */
  raw(encoded: Uint8Array): void {
    this.push(encoded);
  }

  message(field: number, write: (w: Writer) => void): void {
    const inner = new Writer();
    write(inner);
    this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const c of this.chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }
}

/** A constant tensor (initializer). */
export interface TensorSpec {
  readonly name: string;
  readonly dims: readonly number[];
  readonly type: ElementTypeCode;
  readonly data: ArrayLike<number | bigint>;
}

/** An attribute value: the kind decides the protobuf field. */
export type AttributeValue =
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'floats'; readonly value: ArrayLike<number> }
  | { readonly kind: 'ints'; readonly value: ArrayLike<number> }
  | { readonly kind: 'strings'; readonly value: readonly string[] };

/** A graph node. */
export interface NodeSpec {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  readonly domain?: string;
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
}

/** A graph input or output: name, element type, shape (a string = symbolic dimension). */
export interface ValueInfoSpec {
  readonly name: string;
  readonly type: ElementTypeCode;
  readonly shape: readonly (number | string)[];
}

/** A whole model. */
export interface ModelSpec {
  readonly graphName: string;
  readonly nodes: readonly NodeSpec[];
  readonly initializers: readonly TensorSpec[];
  readonly inputs: readonly ValueInfoSpec[];
  readonly outputs: readonly ValueInfoSpec[];
  /** e.g. `{ '': 17, 'ai.onnx.ml': 3 }` */
  readonly opsets: Readonly<Record<string, number>>;
  readonly producer?: string;
  readonly docString?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, floats: 6, ints: 7, strings: 8 } as const;

function writeTensor(w: Writer, t: TensorSpec): void {
  w.packedInts(1, t.dims);
  w.int(2, t.type);
  if (t.type === ElementType.FLOAT) w.packedFloats(4, t.data as ArrayLike<number>);
  else if (t.type === ElementType.INT64) w.packedInts(7, t.data);
  else {
    const b = new Uint8Array(t.data.length * 8);
    const view = new DataView(b.buffer);
    for (let i = 0; i < t.data.length; i++) view.setFloat64(i * 8, Number(t.data[i]), true);
    w.bytes(9, b);
  }
  w.string(8, t.name);
}

function writeAttribute(w: Writer, name: string, a: AttributeValue): void {
  w.string(1, name);
  switch (a.kind) {
    case 'float':
      w.float(2, a.value);
      break;
    case 'int':
      w.int(3, a.value);
      break;
    case 'string':
      w.bytes(4, new TextEncoder().encode(a.value));
      break;
    case 'floats':
      w.packedFloats(7, a.value);
      break;
    case 'ints':
      w.packedInts(8, a.value);
      break;
    case 'strings':
      for (const s of a.value) w.bytes(9, new TextEncoder().encode(s));
      break;
  }
  w.int(20, ATTRIBUTE_TYPE[a.kind]);
}

function writeValueInfo(w: Writer, v: ValueInfoSpec): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.type);
      tensor.message(2, (shape) => {
        for (const d of v.shape)
          shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

/** Writes a NodeProto's fields (inputs, outputs, name, op type, attributes, domain). */
export function writeNode(node: Writer, n: NodeSpec): void {
  for (const input of n.inputs) node.string(1, input);
  for (const output of n.outputs) node.string(2, output);
  node.string(3, n.name);
  node.string(4, n.opType);
  for (const [name, value] of Object.entries(n.attributes ?? {}))
    node.message(5, (attr) => writeAttribute(attr, name, value));
  node.string(7, n.domain);
}

/** Writes a TensorProto's fields. */
export function writeTensorSpec(w: Writer, t: TensorSpec): void {
  writeTensor(w, t);
}

/** Writes a ValueInfoProto's fields (a tensor type with the given shape). */
export function writeValueInfoSpec(w: Writer, v: ValueInfoSpec): void {
  writeValueInfo(w, v);
}

/** Serializes a model to ONNX protobuf bytes (IR version 8). */
export function encodeModel(model: ModelSpec): Uint8Array {
  const w = new Writer();
  w.int(1, 8);
  w.string(2, model.producer ?? 'fti-platform');
  w.string(3, '0.1.0');
  w.string(6, model.docString);
  w.message(7, (g) => {
    for (const n of model.nodes) g.message(1, (node) => writeNode(node, n));
    g.string(2, model.graphName);
    for (const t of model.initializers) g.message(5, (tensor) => writeTensor(tensor, t));
    for (const i of model.inputs) g.message(11, (v) => writeValueInfo(v, i));
    for (const o of model.outputs) g.message(12, (v) => writeValueInfo(v, o));
  });
  for (const [domain, version] of Object.entries(model.opsets))
    w.message(8, (o) => {
      o.string(1, domain);
      o.int(2, version);
    });
  for (const [key, value] of Object.entries(model.metadata ?? {}))
    w.message(14, (e) => {
      e.string(1, key);
      e.string(2, value);
    });
  return w.finish();
}
