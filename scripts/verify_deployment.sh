#!/usr/bin/env bash
# Check a running orchestrator: health, readiness, config (no secrets), metrics and one chat turn.
#
#   scripts/verify_deployment.sh [BASE_URL]          (default http://localhost:8000)
#
# Environment: API_KEY (sent as X-API-Key on the chat turn), ADMIN_API_KEY (for /config,
# /metrics and /memory; defaults to API_KEY), ID_EMPRESA (company id of the test turn, default 1),
# TIMEOUT (seconds per request, default 30), PYTHON (default python3).
# Prints one PASS/FAIL line per check; exits 1 when any check failed. Needs curl and python3.
set -uo pipefail

BASE_URL="${1:-${BASE_URL:-http://localhost:8000}}"
BASE_URL="${BASE_URL%/}"
TIMEOUT="${TIMEOUT:-30}"
PY="${PYTHON:-python3}"
ID_EMPRESA="${ID_EMPRESA:-1}"
SESSION_ID="verify-deployment-$(date +%s)-$$"

for tool in curl "$PY"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "FAIL  setup      '$tool' is not installed"; exit 1; }
done

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
umask 077
# Keys go to curl through header files, never on its command line (visible in `ps`).
: >"$TMP/chat.h"; : >"$TMP/admin.h"
[[ -n "${API_KEY:-}" ]] && printf 'X-API-Key: %s\n' "$API_KEY" >"$TMP/chat.h"
ADMIN_KEY="${ADMIN_API_KEY:-${API_KEY:-}}"
[[ -n "$ADMIN_KEY" ]] && printf 'X-API-Key: %s\n' "$ADMIN_KEY" >"$TMP/admin.h"

FAILURES=0
report() {  # report NAME STATUS MESSAGE
  if [[ "$2" == ok ]]; then printf 'PASS  %-9s  %s\n' "$1" "$3"
  else printf 'FAIL  %-9s  %s\n' "$1" "$3"; FAILURES=$((FAILURES + 1)); fi
}

# request METHOD PATH HEADERFILE [JSON_BODY]: sets STATUS (000 when unreachable); body in $TMP/body
request() {
  local args=(-sS -o "$TMP/body" -w '%{http_code}' -X "$1" --max-time "$TIMEOUT"
              -H 'Accept: application/json' -H "@$3")
  [[ $# -ge 4 ]] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
  : >"$TMP/body"
  STATUS="$(curl "${args[@]}" "$BASE_URL$2" 2>"$TMP/curl.err")" || STATUS=000
}

# check NAME KIND: validate $TMP/body for KIND with python; prints the detail, exit status = verdict
check() {
  "$PY" - "$1" "$TMP/body" "$SESSION_ID" <<'PYEOF'
import json, re, sys
from urllib.parse import urlsplit

kind, path, session_id = sys.argv[1:4]
KEY_LIKE = re.compile(r"(sk-[A-Za-z0-9_\-]{16,}|lsv2_[A-Za-z0-9_]{16,}|gh[pousr]_[A-Za-z0-9]{20,}"
                      r"|xox[abpr]-[A-Za-z0-9\-]{10,}|AKIA[0-9A-Z]{16}|eyJ[\w-]{8,}\.eyJ[\w-]{8,}"
                      r"|Bearer\s+[\w.\-]{12,})")
SECRET_NAME = re.compile(r"(?i)(api[_-]?key|secret|password|passwd|token)(?!s?_configured)")

def done(ok, message):
    print(message)
    sys.exit(0 if ok else 1)

raw = open(path, encoding="utf-8", errors="replace").read()
try:
    data = json.loads(raw)
except ValueError:
    done(False, f"not JSON: {raw[:120]!r}")

if kind == "health":
    done(data.get("status") == "ok", f"status={data.get('status')!r} service={data.get('service')!r}")
if kind == "ready":
    done(data.get("status") == "ready", f"status={data.get('status')!r} checkpointer={data.get('checkpointer')!r}")
if kind == "config":
    problems = [f"key-looking string {m.group(0)[:6]}…" for m in KEY_LIKE.finditer(raw)]
    def walk(node, where=""):
        if isinstance(node, dict):
            for key, value in node.items():
                if SECRET_NAME.search(str(key)) and isinstance(value, str) and value and "***" not in value:
                    problems.append(f"{where}{key} is shown")
                walk(value, f"{where}{key}.")
        elif isinstance(node, list):
            for item in node:
                walk(item, where)
    walk(data)
    database = data.get("database_url")
    if isinstance(database, str) and "@" in database:
        password = urlsplit(database).password
        if password is not None and password != "***":
            problems.append("database_url password is not masked")
    masked = "masked" if isinstance(database, str) and ":***@" in database else "none shown"
    done(not problems, "; ".join(problems) or f"no secrets (database password {masked}, "
         f"model {data.get('openai_model')!r}, llm {data.get('llm_mode')!r})")
if kind == "metrics":
    ok = isinstance(data.get("requests_total"), int) and isinstance(data.get("circuit_breakers"), dict)
    done(ok, f"requests_total={data.get('requests_total')!r} "
             f"breakers={ {k: v.get('state') for k, v in (data.get('circuit_breakers') or {}).items()} }")
if kind == "chat":
    action, agent, reply = data.get("action"), data.get("agent_used"), data.get("reply")
    ok = (isinstance(reply, str) and reply.strip() != "" and data.get("session_id") == session_id
          and action in ("delegate", "respond") and (agent is None) == (action == "respond"))
    done(ok, f"action={action!r} agent_used={agent!r} reply={str(reply)[:60]!r}")
if kind == "cleanup":
    done("message" in data, str(data.get("message", raw[:120])))
done(False, f"unknown check {kind}")
PYEOF
}

# run_check NAME EXPECTED_STATUS METHOD PATH HEADERFILE [BODY]
run_check() {
  local name=$1 expected=$2
  request "$3" "$4" "$5" "${@:6}"
  if [[ "$STATUS" == 000 ]]; then
    report "$name" fail "$3 $4: unreachable ($(head -c 160 "$TMP/curl.err" | tr '\n' ' '))"
  elif [[ "$STATUS" != "$expected" ]]; then
    report "$name" fail "$3 $4: HTTP $STATUS: $(head -c 160 "$TMP/body" | tr '\n' ' ')"
  elif detail="$(check "$name")"; then
    report "$name" ok "$3 $4: $detail"
  else
    report "$name" fail "$3 $4: $detail"
  fi
}

CHAT_BODY="$("$PY" -c '
import json, sys
print(json.dumps({"message": "hola", "session_id": sys.argv[1], "config": {
    "nombre_bot": "Verificador", "id_empresa": int(sys.argv[2]), "rol_bot": "asistente virtual",
    "tipo_bot": "verificación", "objetivo_principal": "comprobar el despliegue"}}))
' "$SESSION_ID" "$ID_EMPRESA")"

echo "Verifying $BASE_URL"
run_check health 200 GET /health "$TMP/chat.h"
run_check ready 200 GET /ready "$TMP/chat.h"
run_check config 200 GET /config "$TMP/admin.h"
run_check metrics 200 GET /metrics "$TMP/admin.h"
run_check chat 200 POST /api/agent/chat "$TMP/chat.h" "$CHAT_BODY"
run_check cleanup 200 POST "/memory/clear/$SESSION_ID" "$TMP/admin.h"

if [[ $FAILURES -gt 0 ]]; then
  echo "$FAILURES check(s) failed"
  exit 1
fi
echo "all checks passed"
