import { applyGates, gatesSchema } from './gates';

describe('validation gates', () => {
  const gates = gatesSchema.parse({
    thresholds: { roc_auc: { min: 0.8 }, log_loss: { max: 0.5 } },
    champion: { metric: 'roc_auc', maxDegradation: 0.01 },
    slices: { column: 'card_type', metric: 'recall', maxGap: 0.2 },
  });

  it('passes when every gate holds; no champion yet passes the champion gate', () => {
    const report = applyGates(gates, { roc_auc: 0.9, log_loss: 0.3 }, undefined, { recall: 0.1 });
    expect(report.passed).toBe(true);
    expect(report.results.map((r) => r.gate)).toEqual([
      'threshold roc_auc',
      'threshold log_loss',
      'vs champion',
      'slice gap card_type',
    ]);
  });

  it('fails on a threshold, on degradation beyond the allowance (direction-aware), and on a slice gap', () => {
    expect(applyGates(gates, { roc_auc: 0.7, log_loss: 0.3 }, undefined, { recall: 0 }).passed).toBe(false);
    const worse = applyGates(
      gates,
      { roc_auc: 0.85, log_loss: 0.3 },
      { version: 3, metrics: { roc_auc: 0.9 } },
      { recall: 0 },
    );
    expect(worse.results.find((r) => r.gate === 'vs champion')).toMatchObject({ passed: false });
    expect(worse.results.find((r) => r.gate === 'vs champion')!.detail).toContain('champion v3 0.9000');
    const slight = applyGates(
      gates,
      { roc_auc: 0.895, log_loss: 0.3 },
      { version: 3, metrics: { roc_auc: 0.9 } },
      { recall: 0 },
    );
    expect(slight.passed).toBe(true);
    const lossGate = gatesSchema.parse({ champion: { metric: 'rmse', maxDegradation: 0 } });
    expect(applyGates(lossGate, { rmse: 2 }, { version: 1, metrics: { rmse: 1 } }, undefined).passed).toBe(
      false,
    );
    expect(applyGates(gates, { roc_auc: 0.9, log_loss: 0.3 }, undefined, { recall: 0.5 }).passed).toBe(false);
  });

  it('a metric that was not computed fails its gate; bad declarations are rejected', () => {
    expect(applyGates(gates, { log_loss: 0.1 }, undefined, { recall: 0 }).results[0]).toMatchObject({
      passed: false,
    });
    expect(() => gatesSchema.parse({ thresholds: { 'ROC AUC': { min: 1 } } })).toThrow();
    expect(() => gatesSchema.parse({ slice: {} })).toThrow();
  });
});
