// The inference team's side of the fraud system (queue fti-inference + the online service): the
// deployment's variants, the smoke request every rollout must pass, and a client of /predict.

/** A transaction as the payment system sends it for scoring. */
export interface TransactionRequest {
  readonly card_id: string;
  readonly account_id: string;
  readonly merchant_id: string;
  readonly amount: number;
  readonly category: string;
  readonly card_type: string;
  readonly lat: number;
  readonly lon: number;
}

/** The request a rollout must answer before the switch. */
export const smokeRequest = {
  keys: { card_id: 'c1', account_id: 'a1', merchant_id: 'm1' },
  request: { amount: 25, category: 'grocery', card_type: 'debit', lat: 52.5, lon: 13.4 },
};

/** Champion only, or champion 90 % / challenger 10 % (sticky per card/account/merchant). */
export function fraudVariants(withChallenger: boolean) {
  return withChallenger
    ? [
        { variant: 'champion', model: 'fraud', version: 'champion', weight: 90 },
        { variant: 'challenger', model: 'fraud', version: 'challenger', weight: 10 },
      ]
    : [{ variant: 'main', model: 'fraud', version: 'champion', weight: 100 }];
}

/** Scores one transaction: entity keys for the online features, the rest as request values. */
export async function predictFraud(
  serviceUrl: string,
  apiKey: string,
  txn: TransactionRequest,
): Promise<{ probability: number; variant: string; modelVersion: number }> {
  const response = await fetch(`${serviceUrl}/v1/deployments/fraud/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({
      keys: { card_id: txn.card_id, account_id: txn.account_id, merchant_id: txn.merchant_id },
      request: {
        amount: txn.amount,
        category: txn.category,
        card_type: txn.card_type,
        lat: txn.lat,
        lon: txn.lon,
      },
    }),
  });
  const body = (await response.json()) as {
    error?: string;
    predictions?: { probabilities: Record<string, number>; variant: string; model: { version: number } }[];
  };
  if (!response.ok) throw new Error(`predict failed: HTTP ${response.status} ${body.error ?? ''}`);
  const p = body.predictions![0]!;
  return { probability: p.probabilities.true ?? 0, variant: p.variant, modelVersion: p.model.version };
}
