// The air-quality example's feature module: daily weather with trailing means, and the measured
// PM2.5 as the label group. Load it in workers through FTI_FEATURE_MODULES.
import { sqlTransformation, type FeatureGroupDefinition, type FeatureViewDefinition } from '../../../core';

const double = (name: string) => ({ name, type: 'double' as const });

/** Daily weather per city with 3- and 7-day trailing means (as of each day). */
export const aqWeather: FeatureGroupDefinition = {
  name: 'aq_weather',
  description: 'daily weather per city, with trailing means',
  primaryKey: ['city'],
  eventTime: 'event_time',
  features: [
    { name: 'city', type: 'string' },
    { name: 'event_time', type: 'timestamp' },
    ...['temperature', 'wind_speed', 'precipitation', 'humidity', 'pressure'].map(double),
    ...['wind_speed_mean_3d', 'precipitation_sum_3d', 'pressure_mean_3d', 'temperature_mean_7d'].map(double),
  ],
  online: { enabled: true, ttlSeconds: 3 * 86_400 },
};

/** Measured PM2.5 per city and day: the label and the spine. */
export const aqPm25: FeatureGroupDefinition = {
  name: 'aq_pm25',
  primaryKey: ['city'],
  eventTime: 'event_time',
  features: [{ name: 'city', type: 'string' }, { name: 'event_time', type: 'timestamp' }, double('pm25')],
  expectations: {
    name: 'pm25',
    expectations: [
      { type: 'expect_column_values_to_be_between', column: 'pm25', min: 0, max: 1000, severity: 'error' },
    ],
  },
};

export const featureGroups = [aqWeather, aqPm25];

const trailing = (days: number) => `RANGE BETWEEN INTERVAL ${days - 1} DAY PRECEDING AND CURRENT ROW`;

export const transformations = {
  aq_weather_daily: sqlTransformation(
    (input) => `SELECT city, event_time, temperature, wind_speed, precipitation, humidity, pressure,
        avg(wind_speed) OVER (w ${trailing(3)}) AS wind_speed_mean_3d,
        sum(precipitation) OVER (w ${trailing(3)}) AS precipitation_sum_3d,
        avg(pressure) OVER (w ${trailing(3)}) AS pressure_mean_3d,
        avg(temperature) OVER (w ${trailing(7)}) AS temperature_mean_7d, _fti_row
      FROM ${input} WINDOW w AS (PARTITION BY city ORDER BY event_time)`,
  ),
};

/** The forecasting view: PM2.5 joined point in time with that day's weather. */
export const airQualityView: FeatureViewDefinition = {
  name: 'air_quality',
  description: 'daily PM2.5 from weather features',
  spine: { featureGroup: 'aq_pm25' },
  labels: ['pm25'],
  joins: [{ featureGroup: 'aq_weather', lookback: '2d' }],
  transformations: { precipitation: { kind: 'log' }, precipitation_sum_3d: { kind: 'log' } },
};
