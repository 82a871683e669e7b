import { seededRandom } from '../random';
import { roundHalfUp } from './gbdt-hist';

describe('gbdt quantization rounding', () => {
  it('rounds like Math.round over the quantized range (ties, the double below 0.5, ±2^51)', () => {
    const random = seededRandom(5);
    const values = [0.49999999999999994, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 1 - 2 ** -53, -(1 - 2 ** -53)];
    values.push(2 ** 51, -(2 ** 51), 2 ** 51 - 0.5, -(2 ** 51) + 0.5, 2 ** -1074, -(2 ** -1074), 0);
    for (let i = 0; i < 200_000; i++) {
      // Every magnitude from 2^-60 to 2^51, and values on and next to ties.
      values.push((random() - 0.5) * 2 ** (Math.floor(random() * 112) - 60));
      const n = Math.floor(random() * 2 ** 40) - 2 ** 39;
      values.push(n + 0.5, n - 0.5, n + 0.5 - 2 ** -12, n + 0.5 + 2 ** -12);
    }
    // + 0 makes -0 a 0: a zero's sign may differ (Math.round(-0.3) is -0) and no sum can see it.
    const wrong = values.filter((x) => roundHalfUp(x) + 0 !== Math.round(x) + 0);
    expect(wrong).toEqual([]);
  });
});
