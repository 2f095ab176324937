#!/usr/bin/env bash
# test_web_cleanup.sh: the Storage screen's cleanup in a real browser: data
# older than a week and data of now are written; "Delete…" shows the dry
# run's count (the 5 old samples), confirming deletes them and keeps the
# new one. Needs POST /api/v1/admin/cleanup (issue 13's storage part; this
# test fails until that endpoint is merged).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/web_lib.sh"

tide_start "$WORK/data" -
web_check
web_run cleanup
log "ok"
