import { comparisonToleranceSeconds, DEFAULT_COMPARISON_TOLERANCE_SECONDS } from './retraining';

// The loop compares champion and challenger on the labels its deployment's monitors join: a
// deployment whose labels arrive 10 minutes off the request must not be judged with 60 s.
describe('comparisonToleranceSeconds', () => {
  const monitor = (subject: string, labelToleranceSeconds: number, subjectType = 'deployment') => ({
    subjectType,
    subject,
    labelToleranceSeconds,
  });

  it("takes the deployment's monitors' tolerance, the widest when they differ", () => {
    expect(
      comparisonToleranceSeconds(
        [
          monitor('fraud', 600),
          monitor('fraud', 120),
          monitor('churn', 3600),
          monitor('fraud', 9999, 'feature_group'),
        ],
        'fraud',
      ),
    ).toBe(600);
  });

  it('falls back to the monitors’ default when no monitor watches the deployment', () => {
    expect(comparisonToleranceSeconds([monitor('churn', 3600)], 'fraud')).toBe(
      DEFAULT_COMPARISON_TOLERANCE_SECONDS,
    );
    expect(DEFAULT_COMPARISON_TOLERANCE_SECONDS).toBe(60);
  });
});
