// Jest runs tests in a separate V8 context whose typed-array constructors differ from Node's own.
// Native addons (onnxruntime-node) check `instanceof Float32Array` against the outer realm, so the
// test context shares the outer realm's typed arrays.
const { TestEnvironment } = require('jest-environment-node');

class SharedTypedArrayEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of [
      'ArrayBuffer',
      'Uint8Array',
      'Int8Array',
      'Uint16Array',
      'Int16Array',
      'Uint32Array',
      'Int32Array',
      'Float32Array',
      'Float64Array',
      'BigInt64Array',
      'BigUint64Array',
      'Uint8ClampedArray',
    ])
      this.global[name] = globalThis[name];
  }
}

module.exports = SharedTypedArrayEnvironment;
