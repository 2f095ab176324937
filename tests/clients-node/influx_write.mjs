// influx_write.mjs URL TOKEN BUCKET N [SETTLE_MS]: the official InfluxDB 2 JS client
// (npm @influxdata/influxdb-client, pinned) checks the server as its users'
// code does (HealthAPI, SetupAPI from influxdb-client-apis), then writes N
// points through a batching WriteApi (batches of 500, gzip above 1000
// bytes, retries on 429/503) at millisecond precision, and prints one JSON
// line with what it saw. SETTLE_MS: wait that long before closing the
// WriteApi, as a long-running writer would, so that batches refused for now
// are retried in the background (close() itself sends what is left once). Exits 1 when the health check, the setup check or
// a write fails; the error's status code is printed.
import { InfluxDB, Point, HttpError } from '@influxdata/influxdb-client';
import { HealthAPI, SetupAPI } from '@influxdata/influxdb-client-apis';

const [url, token, bucket, nArg, settleArg] = process.argv.slice(2);
const n = Number(nArg);
const influx = new InfluxDB({ url, token, timeout: 10000 });
const out = {};
try {
  const health = await new HealthAPI(influx).getHealth();
  out.health = health.status;
  const setup = await new SetupAPI(influx).getSetup();
  out.setupAllowed = setup.allowed;
  const write = influx.getWriteApi('my-org', bucket, 'ms', {
    batchSize: 500,
    flushInterval: 0,
    maxRetries: 5,
    minRetryDelay: 200,
    maxRetryDelay: 2000,
    gzipThreshold: 1000,
    defaultTags: { app: 'influx client' },
  });
  const base = Date.now() - 3600 * 1000;
  for (let i = 0; i < n; i++) {
    write.writePoint(
      new Point('validator_vote')
        .tag('validator', `v,${i % 10}`)
        .tag('region', i % 2 ? 'eu west' : 'us=east')
        .floatField('latency_ms', i / 4)
        .intField('slot', i)
        .timestamp(new Date(base + i * 100)),
    );
  }
  if (settleArg) await new Promise((r) => setTimeout(r, Number(settleArg)));
  await write.close();
  out.written = n;
  console.log(JSON.stringify(out));
} catch (e) {
  out.error = e instanceof HttpError ? e.statusCode : String(e);
  console.log(JSON.stringify(out));
  process.exit(1);
}
