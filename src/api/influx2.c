/* influx2.c: what InfluxDB 2.x client libraries and tools ask a server
 * besides writes (/api/v2/write is in write.c), answered as an InfluxDB 2
 * server that is already set up would answer:
 *
 *   GET /health          {"name":"influxdb","status":"pass",...}: the
 *                        clients' health check parses this JSON
 *   GET /api/v2/setup    {"allowed": false}: onboarding is done
 *   POST /api/v2/setup   422 "onboarding has already been completed"
 *
 * Tide has no organisations, users or tokens of its own: a client's
 * `Authorization: Token T` is checked as a bearer token against
 * auth_write_bearer_token (auth.c), and `org` is accepted and ignored.
 */
#include "api/http.h"
#include "api/json.h"
#include "api/router.h"

void influx2_health(struct http_req *rq, struct http_resp *rs)
{
    rs->status = 200;
    rs->content_type = "application/json; charset=utf-8";
    struct json w;
    json_init(&w, &rs->body);
    json_obj(&w);
    json_key(&w, "name");
    json_cstr(&w, "influxdb");
    json_key(&w, "message");
    json_cstr(&w, "ready for queries and writes");
    json_key(&w, "status");
    json_cstr(&w, "pass");
    json_key(&w, "checks");
    json_arr(&w);
    json_arr_end(&w);
    json_key(&w, "version");
    json_cstr(&w, rq->ctx->version);
    json_key(&w, "commit");
    json_cstr(&w, "tide");
    json_obj_end(&w);
    if (json_end(&w) != 0)
        http_reply(rs, 500, "text/plain", "out of memory\n");
}

void influx2_setup(struct http_req *rq, struct http_resp *rs)
{
    rs->content_type = "application/json; charset=utf-8";
    struct json w;
    json_init(&w, &rs->body);
    json_obj(&w);
    if (rq->method == HTTP_POST) {
        rs->status = 422;
        json_key(&w, "code");
        json_cstr(&w, "conflict");
        json_key(&w, "message");
        json_cstr(&w, "onboarding has already been completed");
    } else {
        rs->status = 200;
        json_key(&w, "allowed");
        json_bool(&w, false);
    }
    json_obj_end(&w);
    if (json_end(&w) != 0)
        http_reply(rs, 500, "text/plain", "out of memory\n");
}
