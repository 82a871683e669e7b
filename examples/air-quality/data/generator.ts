// A seeded generator of daily weather and PM2.5 per city: seasonal, noisy and correlated (calm,
// humid, cold, dry days are smoggy) — the raw data of the air-quality example.
import fs from 'node:fs';
import path from 'node:path';
import { seededRandom, sqlPath, withDuck } from '../../../core';

/** Where the generated files are. */
export interface AirQualityData {
  readonly weather: string;
  readonly pm25: string;
  readonly start: Date;
  readonly end: Date;
  readonly rows: number;
}

const CITIES = ['krakow', 'milan', 'sofia', 'lyon', 'leipzig'];
const DAY = 86_400_000;

/** Generates `days` days (ending at `end`, exclusive) for `cities` cities. Same seed → same files. */
export async function generateAirQualityData(
  dir: string,
  options: { end: Date; days?: number; cities?: number; seed?: number },
): Promise<AirQualityData> {
  const random = seededRandom(options.seed ?? 11);
  const gaussian = () =>
    Math.sqrt(-2 * Math.log(Math.max(random(), 1e-12))) * Math.cos(2 * Math.PI * random());
  const days = options.days ?? 365;
  const start = new Date(options.end.getTime() - days * DAY);
  const weather: Record<string, unknown>[] = [];
  const pm25: Record<string, unknown>[] = [];
  for (const [c, city] of CITIES.slice(0, options.cities ?? CITIES.length).entries()) {
    let stagnation = 0;
    for (let d = 0; d < days; d++) {
      const day = new Date(start.getTime() + d * DAY);
      const season = Math.cos((2 * Math.PI * (day.getUTCMonth() * 30 + day.getUTCDate() - 15)) / 365); // 1 in January
      const temperature = 12 - 10 * season + gaussian() * 3 + c;
      const wind = Math.max(0.2, 3.5 + gaussian() * 1.8 + (random() < 0.1 ? 4 : 0));
      const precipitation = random() < 0.3 ? Math.exp(gaussian()) * 3 : 0;
      const humidity = Math.min(100, Math.max(20, 65 + 15 * season + gaussian() * 10 + precipitation));
      const pressure = 1013 + gaussian() * 8;
      // Calm high-pressure spells accumulate pollution; wind and rain clear it.
      stagnation =
        0.6 * stagnation + (wind < 2.5 ? 1 : 0) + (pressure > 1018 ? 0.5 : 0) - (precipitation > 2 ? 1 : 0);
      const level =
        12 +
        18 * Math.max(0, season) +
        9 * Math.max(0, stagnation) -
        2.5 * wind -
        1.2 * precipitation +
        0.1 * humidity +
        (8 - temperature) * 0.4;
      weather.push({
        city,
        event_time: day,
        temperature,
        wind_speed: wind,
        precipitation,
        humidity,
        pressure,
      });
      pm25.push({ city, event_time: day, pm25: Math.max(2, level * Math.exp(gaussian() * 0.15)) });
    }
  }
  fs.mkdirSync(dir, { recursive: true });
  const write = async (rows: readonly Record<string, unknown>[], name: string) => {
    const jsonl = path.join(dir, `${name}.jsonl`);
    fs.writeFileSync(
      jsonl,
      rows
        .map((r) =>
          JSON.stringify({
            ...r,
            event_time: (r.event_time as Date).toISOString().replace('T', ' ').replace('Z', ''),
          }),
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
    weather: await write(weather, 'weather'),
    pm25: await write(pm25, 'pm25'),
    start,
    end: options.end,
    rows: pm25.length,
  };
}
