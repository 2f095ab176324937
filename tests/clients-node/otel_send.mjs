// otel_send.mjs URL json|proto SERVICE: record a fixed set of OpenTelemetry
// metrics with the official JS SDK and export them once to URL with the
// chosen OTLP/HTTP encoding (exporter-metrics-otlp-http sends JSON,
// exporter-metrics-otlp-proto sends protobuf). Exits 1 if the export failed.
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPMetricExporter as JsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';

const [url, encoding, service] = process.argv.slice(2);
const Exporter = encoding === 'json' ? JsonExporter : ProtoExporter;
const exporter = new Exporter({ url, timeoutMillis: 10000 });
let failed = null;
const wrapped = {
  export(metrics, done) {
    exporter.export(metrics, (res) => {
      if (res.code !== 0) failed = res.error || new Error('export failed');
      done(res);
    });
  },
  forceFlush: () => exporter.forceFlush(),
  shutdown: () => exporter.shutdown(),
  selectAggregationTemporality: (k) => exporter.selectAggregationTemporality(k),
  selectAggregation: (k) => exporter.selectAggregation(k),
};
const reader = new PeriodicExportingMetricReader({ exporter: wrapped, exportIntervalMillis: 600000 });
const provider = new MeterProvider({
  resource: resourceFromAttributes({
    'service.name': service,
    'service.instance.id': 'node-1',
    'deployment.environment': 'test',
  }),
  readers: [reader],
});
const meter = provider.getMeter('tide-check');

const requests = meter.createCounter('http.server.requests', { unit: '{request}' });
requests.add(40, { code: '200', route: '/a' });
requests.add(2, { code: '500', route: '/a' });
const cpu = meter.createCounter('process.cpu.time', { unit: 's' });
cpu.add(12.25);
const queue = meter.createUpDownCounter('queue.length');
queue.add(5);
queue.add(-8);
const latency = meter.createHistogram('http.server.duration', {
  unit: 'ms',
  advice: { explicitBucketBoundaries: [5, 10, 50] },
});
for (const v of [1, 7, 7, 20, 80]) latency.record(v, { route: '/a' });
meter.createObservableGauge('room.temperature', { unit: 'Cel' })
  .addCallback((r) => r.observe(21.5, { room: 'kitchen "main"' }));

await reader.forceFlush();
await provider.shutdown();
if (failed) {
  console.error(`export failed: ${failed.message || failed}`);
  process.exit(1);
}
