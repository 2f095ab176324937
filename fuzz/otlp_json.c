/* otlp_json.c (fuzz): OTLP/JSON transcoding (ingest/otlp_json.c).
 * Invariants: whatever the JSON, a transcoding that succeeds yields protobuf
 * that protobuf-c unpacks as an ExportMetricsServiceRequest; a failed
 * request leaves the batch without series; every series has one sample. */
#include <assert.h>
#include <stdint.h>

#include "core/buf.h"
#include "ingest/otlp.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct batch b;
    batch_init(&b);
    struct buf pb;
    buf_init(&pb, 0);
    struct err e;
    if (otlp_json_to_pb((const char *)data, size, &b, &pb, &e) == 0) {
        Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *req =
            opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(
                NULL, pb.len, (const uint8_t *)pb.p);
        assert(req != NULL);
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(
            req, NULL);
    }
    buf_fini(&pb);
    struct otlp_stats st = {0};
    int rc = otlp_json_parse((const char *)data, size, (size_t)64 << 20, &b, &st, &e);
    if (rc != 0) {
        assert(rc == TIDE_EPARSE || rc == TIDE_ELIMIT);
        assert(b.nseries == 0 && b.nsamples == 0);
    }
    assert(b.nsamples == b.nseries);
    batch_fini(&b);
    return 0;
}
