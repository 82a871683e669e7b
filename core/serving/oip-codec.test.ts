import { decodeInferRequest, encodeInferResponse } from './oip-codec';

/** A body as tritonclient sends it: JSON header + binary tensors, and the header's length. */
function binaryBody(header: unknown, ...tensors: Buffer[]): { body: Buffer; length: number } {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  return { body: Buffer.concat([json, ...tensors]), length: json.length };
}
const bytesTensor = (...values: string[]) =>
  Buffer.concat(
    values.flatMap((v) => {
      const text = Buffer.from(v, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32LE(text.length);
      return [length, text];
    }),
  );

describe('OIP v2 codec', () => {
  it('decodes JSON data, flat or nested, keeping datatypes', () => {
    const decoded = decodeInferRequest(
      {
        id: 'r1',
        inputs: [
          {
            name: 'features',
            shape: [2, 2],
            datatype: 'FP32',
            data: [
              [1, 2],
              [3, 4.5],
            ],
          },
          { name: 'card_id', shape: [2], datatype: 'BYTES', data: ['c1', 'c2'] },
        ],
      },
      undefined,
    );
    expect(decoded.id).toBe('r1');
    expect(decoded.inputs.map((i) => i.values)).toEqual([
      [1, 2, 3, 4.5],
      ['c1', 'c2'],
    ]);
    expect(decoded.binaryOutput).toBe(false);
  });

  it.each([
    [
      { name: 'features', shape: [1, 2], datatype: 'FP32', data: [1, 'x'] },
      'input "features" value 1 must be a finite number (FP32), got a string',
    ],
    [
      { name: 'features', shape: [1, 2], datatype: 'FP32', data: [null, 1] },
      'input "features" value 0 must be a finite number (FP32), got null',
    ],
    [
      { name: 'customer_id', shape: [1], datatype: 'INT64', data: [1.5] },
      'must be an integer (INT64), got 1.5',
    ],
    [
      { name: 'card_id', shape: [1], datatype: 'BYTES', data: [7] },
      'input "card_id" value 0 must be a string (BYTES), got 7',
    ],
    [
      { name: 'features', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3] },
      'shape [2, 2] needs 4 values, got 3',
    ],
    [{ name: 'features', shape: [1], datatype: 'STRING', data: ['a'] }, 'unknown datatype STRING'],
  ])('refuses a value the datatype cannot hold: %j', (input, message) => {
    expect(() => decodeInferRequest({ inputs: [input] }, undefined)).toThrow(message);
  });

  it('decodes the binary tensor extension: FP32, INT64 and length-prefixed BYTES after the JSON header', () => {
    const features = Buffer.from(Float32Array.of(0.5, 1.5, 2.5, 3.5).buffer);
    const ids = Buffer.alloc(16);
    ids.writeBigInt64LE(7n, 0);
    ids.writeBigInt64LE(8n, 8);
    const { body, length } = binaryBody(
      {
        inputs: [
          { name: 'features', shape: [2, 2], datatype: 'FP32', parameters: { binary_data_size: 16 } },
          { name: 'customer_id', shape: [2], datatype: 'INT64', parameters: { binary_data_size: 16 } },
          { name: 'card_id', shape: [2], datatype: 'BYTES', parameters: { binary_data_size: 12 } },
        ],
        parameters: { binary_data_output: true },
      },
      features,
      ids,
      bytesTensor('c1', 'c22'),
    );
    expect(bytesTensor('c1', 'c22')).toHaveLength(13);
    // 'c22' is 3 bytes: the declared 12 is one short, so the request is refused, not misread.
    expect(() => decodeInferRequest(body, length)).toThrow(
      /BYTES element 1 runs past its data|belong to no input/,
    );
    const fixed = binaryBody(
      {
        inputs: [
          { name: 'features', shape: [2, 2], datatype: 'FP32', parameters: { binary_data_size: 16 } },
          { name: 'customer_id', shape: [2], datatype: 'INT64', parameters: { binary_data_size: 16 } },
          { name: 'card_id', shape: [2], datatype: 'BYTES', parameters: { binary_data_size: 13 } },
        ],
        parameters: { binary_data_output: true },
      },
      features,
      ids,
      bytesTensor('c1', 'c22'),
    );
    const decoded = decodeInferRequest(fixed.body, fixed.length);
    expect(decoded.inputs.map((i) => i.values)).toEqual([
      [0.5, 1.5, 2.5, 3.5],
      [7, 8],
      ['c1', 'c22'],
    ]);
    expect(decoded.binaryOutput).toBe(true);
  });

  it('refuses binary data that does not match its sizes, and a header length past the body', () => {
    const { body, length } = binaryBody(
      {
        inputs: [{ name: 'features', shape: [1, 2], datatype: 'FP32', parameters: { binary_data_size: 8 } }],
      },
      Buffer.alloc(4),
    );
    expect(() => decodeInferRequest(body, length)).toThrow('binary_data_size 8 exceeds the 4 bytes left');
    expect(() => decodeInferRequest(body, body.length + 1)).toThrow('does not fit a body of');
    expect(() => decodeInferRequest(Buffer.from('{"inputs": ['), undefined)).toThrow('not valid JSON');
  });

  it('encodes binary outputs after the JSON header when asked, JSON otherwise', () => {
    const outputs = [
      { name: 'label', datatype: 'BYTES' as const, shape: [2], data: ['true', 'false'] },
      { name: 'probabilities', datatype: 'FP32' as const, shape: [2, 2], data: [0.25, 0.75, 0.5, 0.5] },
    ];
    const plain = encodeInferResponse({ model_name: 'm' }, outputs, {
      outputs: undefined,
      binaryOutput: false,
    });
    expect(plain.headerLength).toBeUndefined();
    expect(JSON.parse(plain.body as string).outputs[1].data).toEqual([0.25, 0.75, 0.5, 0.5]);
    const binary = encodeInferResponse({ model_name: 'm' }, outputs, {
      outputs: [{ name: 'probabilities', binary: true }],
      binaryOutput: false,
    });
    const body = binary.body as Buffer;
    const head = JSON.parse(body.subarray(0, binary.headerLength).toString('utf8'));
    expect(head.outputs).toEqual([
      { name: 'probabilities', datatype: 'FP32', shape: [2, 2], parameters: { binary_data_size: 16 } },
    ]);
    const rest = body.subarray(binary.headerLength);
    expect(Array.from(new Float32Array(rest.buffer.slice(rest.byteOffset, rest.byteOffset + 16)))).toEqual([
      0.25, 0.75, 0.5, 0.5,
    ]);
  });
});
