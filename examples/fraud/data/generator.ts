// A seeded generator of card transactions with planted fraud patterns, written as Parquet — the
// "raw data" the fraud example's feature pipelines read. Same seed → same files.
import fs from 'node:fs';
import path from 'node:path';
import { seededRandom, sqlPath, withDuck } from '../../../core';

/** Generation settings. */
export interface FraudDataOptions {
  readonly seed?: number;
  readonly cards?: number;
  readonly days?: number;
  /** Last day of data (exclusive end). */
  readonly end: Date;
  /** Share of cards that get compromised once. @default 0.08 */
  readonly compromisedShare?: number;
  /** From a given day on, fraudsters change tactics (Example 1 with drift). Days before it are unchanged. */
  readonly drift?: FraudDriftOptions;
}

/**
 * The fraudsters' new tactics from `start` on: crypto exchanges join the merchants (a category the
 * model has never seen) and take a share of ordinary spending; compromised cards no longer test the
 * card and cash out far away in electronics or jewelry, but buy crypto near home for mid-range
 * amounts (150–900 by default, where the old cash-outs were 400–3,000), and more cards are hit
 * each day. Drawn from a random stream of its own, so every
 * transaction before `start` is the same as without drift.
 */
export interface FraudDriftOptions {
  /** First moment of the new tactics. */
  readonly start: Date;
  /** Share of cards compromised per day from `start` on. @default 0.02 */
  readonly dailyCompromisedShare?: number;
  /** Share of legitimate transactions made at crypto exchanges from `start` on. @default 0.03 */
  readonly legitCryptoShare?: number;
  /** Range of the new fraudulent amounts. @default [150, 900] */
  readonly fraudAmount?: readonly [number, number];
}

/** The merchant category that appears with the drift. */
export const DRIFT_CATEGORY = 'crypto';

/** Where the generated files are and what they hold. */
export interface FraudData {
  readonly transactions: string;
  readonly chargebacks: string;
  readonly accounts: string;
  readonly merchants: string;
  readonly start: Date;
  readonly end: Date;
  readonly counts: { readonly transactions: number; readonly fraud: number; readonly cards: number };
  /** Set when the data has drift: when it starts and what changed after it. */
  readonly drift?: {
    readonly start: Date;
    readonly cryptoMerchants: number;
    readonly newFraudTransactions: number;
    readonly legitCryptoTransactions: number;
  };
}

const CITIES = [
  { name: 'berlin', lat: 52.52, lon: 13.4 },
  { name: 'paris', lat: 48.86, lon: 2.35 },
  { name: 'madrid', lat: 40.42, lon: -3.7 },
  { name: 'rome', lat: 41.9, lon: 12.5 },
  { name: 'warsaw', lat: 52.23, lon: 21.01 },
  { name: 'lisbon', lat: 38.72, lon: -9.14 },
];
const CATEGORIES = [
  { name: 'grocery', mean: 45, normal: 0.35 },
  { name: 'restaurant', mean: 38, normal: 0.2 },
  { name: 'transport', mean: 18, normal: 0.15 },
  { name: 'fuel', mean: 60, normal: 0.12 },
  { name: 'online', mean: 70, normal: 0.1 },
  { name: 'travel', mean: 400, normal: 0.05 },
  { name: 'electronics', mean: 350, normal: 0.02 },
  { name: 'jewelry', mean: 900, normal: 0.005 },
  { name: 'gift_cards', mean: 120, normal: 0.005 },
];

/**
 * Generates accounts (home city), cards (type, account), merchants (category, city) and
 * transactions over `days` days. Normal spending: a few purchases a day near home, amounts by
 * category. A compromised card gets a fraud episode: a burst of small "card testing" charges
 * within minutes, then large charges in unusual categories (electronics, jewelry, gift cards) from
 * a far-away city. Every fraudulent transaction gets a chargeback 2–10 days later.
 */
export async function generateFraudData(dir: string, options: FraudDataOptions): Promise<FraudData> {
  const random = seededRandom(options.seed ?? 7);
  const cards = options.cards ?? 300;
  const days = options.days ?? 60;
  const end = options.end;
  const start = new Date(end.getTime() - days * 86_400_000);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const gaussian = () =>
    Math.sqrt(-2 * Math.log(Math.max(random(), 1e-12))) * Math.cos(2 * Math.PI * random());

  const merchants = Array.from({ length: 120 }, (_, i) => {
    let r = random();
    const category = CATEGORIES.find((c) => (r -= c.normal) < 0) ?? CATEGORIES[0]!;
    const city = pick(CITIES);
    return {
      merchant_id: `m${i}`,
      category: category.name,
      city: city.name,
      lat: city.lat + gaussian() * 0.05,
      lon: city.lon + gaussian() * 0.05,
    };
  });
  const accounts = Array.from({ length: Math.ceil(cards * 0.8) }, (_, i) => {
    const city = pick(CITIES);
    return {
      account_id: `a${i}`,
      event_time: new Date(start.getTime() - Math.floor(random() * 900) * 86_400_000),
      home_city: city.name,
      home_lat: city.lat + gaussian() * 0.03,
      home_lon: city.lon + gaussian() * 0.03,
    };
  });
  const cardList = Array.from({ length: cards }, (_, i) => ({
    card_id: `c${i}`,
    account: accounts[i % accounts.length]!,
    card_type: random() < 0.6 ? 'debit' : random() < 0.8 ? 'credit' : 'prepaid',
    rate: 1.5 + random() * 3,
  }));

  const transactions: Record<string, unknown>[] = [];
  const chargebacks: Record<string, unknown>[] = [];
  const fraudIds = new Set<string>();
  let n = 0;
  const add = (
    card: (typeof cardList)[number],
    time: number,
    merchant: (typeof merchants)[number],
    amount: number,
    fraud: boolean,
    lat: number,
    lon: number,
  ) => {
    const txn = {
      txn_id: `t${n++}`,
      event_time: new Date(time),
      card_id: card.card_id,
      account_id: card.account.account_id,
      merchant_id: merchant.merchant_id,
      category: merchant.category,
      card_type: card.card_type,
      amount: Math.round(amount * 100) / 100,
      lat: Math.round(lat * 10_000) / 10_000,
      lon: Math.round(lon * 10_000) / 10_000,
    };
    transactions.push(txn);
    if (fraud) fraudIds.add(txn.txn_id);
    // A few frauds are never reported: label noise, as in real chargeback data.
    if (fraud && random() < 0.95)
      chargebacks.push({
        txn_id: txn.txn_id,
        event_time: txn.event_time,
        reported_at: new Date(time + (2 + random() * 8) * 86_400_000),
        is_fraud: true,
      });
  };
  const local = (card: (typeof cardList)[number]) =>
    merchants.filter(
      (m) => m.city === card.account.home_city && !['jewelry', 'gift_cards'].includes(m.category),
    );
  for (const card of cardList) {
    const nearby = local(card).length ? local(card) : merchants;
    for (let t = start.getTime(); t < end.getTime();) {
      t += (-Math.log(Math.max(random(), 1e-9)) / card.rate) * 86_400_000;
      if (t >= end.getTime()) break;
      const hour = new Date(t).getUTCHours();
      if (hour < 6 && random() < 0.8) continue;
      const merchant = pick(nearby);
      const mean = CATEGORIES.find((c) => c.name === merchant.category)!.mean;
      add(
        card,
        t,
        merchant,
        Math.max(1, mean * Math.exp(gaussian() * 0.5 - 0.125)),
        false,
        card.account.home_lat + gaussian() * 0.05,
        card.account.home_lon + gaussian() * 0.05,
      );
    }
    if (random() < (options.compromisedShare ?? 0.08)) {
      // The fraud episode: card testing, then cash-out far away in unusual categories.
      let t = start.getTime() + (0.2 + random() * 0.75) * (end.getTime() - start.getTime());
      // Most fraud happens far away, some with a stolen card at home; not every fraudster tests the card first.
      const far =
        random() < 0.7
          ? pick(CITIES.filter((c) => c.name !== card.account.home_city))
          : CITIES.find((c) => c.name === card.account.home_city)!;
      const farMerchants = merchants.filter((m) => m.city === far.name);
      for (let i = 0, tests = random() < 0.6 ? 2 + Math.floor(random() * 4) : 0; i < tests; i++) {
        t += (30 + random() * 150) * 1000;
        add(
          card,
          t,
          pick(merchants.filter((m) => m.category === 'online')),
          1 + random() * 4,
          true,
          far.lat,
          far.lon,
        );
      }
      const risky = merchants.filter((m) =>
        ['electronics', 'jewelry', 'gift_cards', 'travel'].includes(m.category),
      );
      for (let i = 0, big = 1 + Math.floor(random() * 3); i < big; i++) {
        t += (2 + random() * 20) * 60_000;
        const merchant =
          random() < 0.7 && risky.length ? pick(risky) : pick(farMerchants.length ? farMerchants : merchants);
        add(
          card,
          t,
          merchant,
          400 + random() * 2600,
          true,
          far.lat + gaussian() * 0.02,
          far.lon + gaussian() * 0.02,
        );
      }
    }
  }
  const drift = options.drift
    ? applyDrift(
        { transactions, chargebacks, merchants, fraudIds, cards: cardList, end, nextId: () => `t${n++}` },
        options.drift,
        (options.seed ?? 7) + 1_000_003,
      )
    : undefined;
  transactions.sort((a, b) => (a.event_time as Date).getTime() - (b.event_time as Date).getTime());

  fs.mkdirSync(dir, { recursive: true });
  const write = async (rows: readonly Record<string, unknown>[], name: string) => {
    const jsonl = path.join(dir, `${name}.jsonl`);
    fs.writeFileSync(
      jsonl,
      rows
        .map((r) =>
          JSON.stringify(r, (_k, v: unknown) =>
            typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v) ? v.replace('T', ' ').replace('Z', '') : v,
          ),
        )
        .join('\n') + '\n',
    );
    const file = path.join(dir, `${name}.parquet`);
    await withDuck((duck) =>
      duck.run(
        `COPY (SELECT * FROM read_json(${sqlPath(jsonl)}, format = 'newline_delimited', sample_size = -1)) TO ${sqlPath(file)} (FORMAT parquet)`,
      ),
    );
    fs.rmSync(jsonl);
    return file;
  };
  return {
    transactions: await write(transactions, 'transactions'),
    chargebacks: await write(
      chargebacks.length
        ? chargebacks
        : [{ txn_id: 'none', event_time: start, reported_at: start, is_fraud: false }],
      'chargebacks',
    ),
    accounts: await write(accounts, 'accounts'),
    merchants: await write(merchants, 'merchants'),
    start,
    end,
    counts: { transactions: transactions.length, fraud: chargebacks.length, cards },
    ...(drift ? { drift } : {}),
  };
}

interface DriftWorld {
  readonly transactions: Record<string, unknown>[];
  readonly chargebacks: Record<string, unknown>[];
  readonly merchants: { merchant_id: string; category: string; city: string; lat: number; lon: number }[];
  readonly fraudIds: Set<string>;
  readonly cards: readonly {
    card_id: string;
    card_type: string;
    account: { account_id: string; home_city: string; home_lat: number; home_lon: number };
  }[];
  readonly end: Date;
  readonly nextId: () => string;
}

/** Rewrites everything from `drift.start` on with the new tactics (see {@link FraudDriftOptions}). */
function applyDrift(
  world: DriftWorld,
  drift: FraudDriftOptions,
  seed: number,
): NonNullable<FraudData['drift']> {
  const random = seededRandom(seed);
  const gaussian = () =>
    Math.sqrt(-2 * Math.log(Math.max(random(), 1e-12))) * Math.cos(2 * Math.PI * random());
  const from = drift.start.getTime();
  const after = (row: Record<string, unknown>) => (row.event_time as Date).getTime() >= from;
  const exchanges = CITIES.flatMap((city, i) =>
    [0, 1].map((j) => ({
      merchant_id: `m${world.merchants.length + i * 2 + j}`,
      category: DRIFT_CATEGORY,
      city: city.name,
      lat: city.lat + gaussian() * 0.05,
      lon: city.lon + gaussian() * 0.05,
    })),
  );
  world.merchants.push(...exchanges);
  const exchangeIn = (city: string) => {
    const local = exchanges.filter((m) => m.city === city);
    return local[Math.floor(random() * local.length)]!;
  };
  // The old tactics stop: their transactions (and chargebacks) from the drift on are gone.
  const dropped = new Set(
    world.transactions.filter((t) => after(t) && world.fraudIds.has(String(t.txn_id))).map((t) => t.txn_id),
  );
  const keep = <T extends Record<string, unknown>>(rows: T[]) => {
    const kept = rows.filter((r) => !dropped.has(r.txn_id));
    rows.length = 0;
    for (const r of kept) rows.push(r);
  };
  keep(world.transactions);
  keep(world.chargebacks);
  // Crypto exchanges take a share of ordinary spending near home.
  const homeOf = new Map(world.cards.map((c) => [c.card_id, c.account]));
  let legitCrypto = 0;
  for (const t of world.transactions) {
    if (!after(t) || random() >= (drift.legitCryptoShare ?? 0.03)) continue;
    const exchange = exchangeIn(homeOf.get(String(t.card_id))!.home_city);
    t.merchant_id = exchange.merchant_id;
    t.category = DRIFT_CATEGORY;
    t.amount = Math.round(Math.max(5, 90 * Math.exp(gaussian() * 0.6)) * 100) / 100;
    legitCrypto++;
  }
  // The new fraud: each day more cards are taken over and drained at a crypto exchange near home.
  let newFraud = 0;
  const [low, high] = drift.fraudAmount ?? [150, 900];
  for (let day = from; day < world.end.getTime(); day += 86_400_000)
    for (const card of world.cards) {
      if (random() >= (drift.dailyCompromisedShare ?? 0.02)) continue;
      let t = day + random() * 86_400_000;
      const home = card.account;
      for (let i = 0, buys = 2 + Math.floor(random() * 3); i < buys && t < world.end.getTime(); i++) {
        const exchange = exchangeIn(home.home_city);
        const txn = {
          txn_id: world.nextId(),
          event_time: new Date(t),
          card_id: card.card_id,
          account_id: home.account_id,
          merchant_id: exchange.merchant_id,
          category: DRIFT_CATEGORY,
          card_type: card.card_type,
          amount: Math.round((low + random() * (high - low)) * 100) / 100,
          lat: Math.round((home.home_lat + gaussian() * 0.03) * 10_000) / 10_000,
          lon: Math.round((home.home_lon + gaussian() * 0.03) * 10_000) / 10_000,
        };
        world.transactions.push(txn);
        world.fraudIds.add(txn.txn_id);
        newFraud++;
        if (random() < 0.95)
          world.chargebacks.push({
            txn_id: txn.txn_id,
            event_time: txn.event_time,
            reported_at: new Date(t + (2 + random() * 8) * 86_400_000),
            is_fraud: true,
          });
        t += (5 + random() * 40) * 60_000;
      }
    }
  world.chargebacks.sort((a, b) => (a.event_time as Date).getTime() - (b.event_time as Date).getTime());
  return {
    start: drift.start,
    cryptoMerchants: exchanges.length,
    newFraudTransactions: newFraud,
    legitCryptoTransactions: legitCrypto,
  };
}
