#!/usr/bin/env bash
# The Partner Items API with curl: create, read, update with If-Match, list, batch, delete.
#
#   examples/quickstart.sh                          # against .local/stack.json (make run)
#   API_URL=https://... API_KEY=... examples/quickstart.sh
#
# Needs curl and python3 (to read JSON); exits non-zero at the first unexpected status.
set -euo pipefail

STACK_JSON=${STACK_JSON:-.local/stack.json}
if [[ -z "${API_URL:-}" || -z "${API_KEY:-}" ]]; then
  [[ -f "$STACK_JSON" ]] || { echo "set API_URL and API_KEY, or run make run (writes $STACK_JSON)" >&2; exit 2; }
  API_URL=${API_URL:-$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_url"])' "$STACK_JSON")}
  # The partner with the roomiest plan (a tightly throttled one would only show 429s).
  API_KEY=${API_KEY:-$(python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["partners"].values(); print(max(p, key=lambda x: (x["throttle"] or {}).get("burst_limit", 0))["api_key"])' "$STACK_JSON")}
fi
USER_ID=${USER_ID:-quickstart-$RANDOM$RANDOM}
BODY=$(mktemp); HEADERS=$(mktemp); trap 'rm -f "$BODY" "$HEADERS"' EXIT

# call <expected status> <method> <path> [curl args...]: prints the body; fails on another status.
call() {
  local expected=$1 method=$2 path=$3; shift 3
  local status
  status=$(curl -sS -o "$BODY" -D "$HEADERS" -w '%{http_code}' -X "$method" "$API_URL$path" \
    -H "x-api-key: $API_KEY" -H 'content-type: application/json' "$@")
  echo "$method $path -> $status" >&2
  if [[ "$status" != "$expected" ]]; then
    echo "expected $expected: $(cat "$BODY")" >&2
    exit 1
  fi
  cat "$BODY"
}
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
header() { grep -i "^$1:" "$HEADERS" | tr -d '\r' | cut -d' ' -f2-; }

# Create, idempotently: the same Idempotency-Key replays the first answer and creates nothing.
KEY="quickstart-$(date +%s)-$RANDOM"
ID=$(call 201 POST /items -H "Idempotency-Key: $KEY" -d "{\"userId\": \"$USER_ID\", \"name\": \"first\", \"info\": {\"color\": \"blue\"}}" | field id)
call 201 POST /items -H "Idempotency-Key: $KEY" -d "{\"userId\": \"$USER_ID\", \"name\": \"first\", \"info\": {\"color\": \"blue\"}}" >/dev/null
[[ "$(header Idempotent-Replayed)" == "true" ]] || { echo "the retry was not a replay" >&2; exit 1; }

# Read: the ETag is the version; update with If-Match, and see a stale one refused with 412.
call 200 GET "/items/$ID" >/dev/null
ETAG=$(header ETag)
call 200 PATCH "/items/$ID" -H "If-Match: $ETAG" -d '{"name": "renamed"}' | field version
call 412 PATCH "/items/$ID" -H "If-Match: $ETAG" -d '{"name": "stale"}' >/dev/null

# A batch, then every page of the end user's list (follow nextCursor until it is null).
call 201 POST /batch -d "{\"items\": [{\"userId\": \"$USER_ID\", \"name\": \"b1\"}, {\"userId\": \"$USER_ID\", \"name\": \"b2\"}]}" >/dev/null
CURSOR=""; COUNT=0
while :; do
  PAGE=$(call 200 GET "/items?userId=$USER_ID&limit=2${CURSOR:+&cursor=$CURSOR}")
  COUNT=$((COUNT + $(echo "$PAGE" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')))
  CURSOR=$(echo "$PAGE" | python3 -c 'import json,sys; print(json.load(sys.stdin)["nextCursor"] or "")')
  [[ -n "$CURSOR" ]] || break
done
echo "listed $COUNT items" >&2

# Delete (204), then it is gone (404). The plan's use so far, and the contract itself.
call 204 DELETE "/items/$ID" >/dev/null
call 404 GET "/items/$ID" >/dev/null
call 200 GET /usage | field quota >&2
call 200 GET /openapi.json | field openapi
