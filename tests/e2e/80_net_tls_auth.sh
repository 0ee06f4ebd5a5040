#!/usr/bin/env bash
# promdir-collector with --web.config.file (exporter-toolkit format), against
# a real Prometheus and curl, with certificates made by the openssl CLI here:
#   - collector A: TLS + bcrypt basic auth; collector B: TLS +
#     RequireAndVerifyClientCert;
#   - Prometheus scrapes A with the right password and B with a client
#     certificate (up == 1), and fails with a wrong password, over plain
#     HTTP, and to B without a certificate (up == 0);
#   - curl: missing and wrong credentials get 401, plain HTTP gets 400, no
#     client certificate fails the handshake; auth failures are counted;
#   - A's certificate is rotated while it runs: the new one is served within
#     seconds, same pid, and Prometheus keeps scraping;
#   - a bad config fails at start naming the file, the line and the field.
source "$(dirname "$0")/lib.bash"

COLLECTOR=$(require_bin promdir-collector)
require_cmd openssl
require_cmd curl
require_cmd prometheus

make_tmp WORK
MPDIR="$WORK/multiproc"
mkdir -p "$MPDIR" "$WORK/a" "$WORK/b"
"$PY" - "$MPDIR" <<'EOF'
import os, sys
os.environ["PROMETHEUS_MULTIPROC_DIR"] = sys.argv[1]
from prometheus_client import Counter
Counter("net_test_requests", "Requests.").inc(7)
EOF

# A CA, a server certificate for 127.0.0.1, a client certificate.
cert() {  # cert NAME CN [SAN]: NAME.key and NAME.crt signed by the CA
  local name=$1 cn=$2 san=${3:-}
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$WORK/$name.key" -out "$WORK/$name.csr" -subj "/CN=$cn" 2>/dev/null
  local ext=()
  if [[ -n $san ]]; then
    printf 'subjectAltName=%s\n' "$san" >"$WORK/$name.ext"
    ext=(-extfile "$WORK/$name.ext")
  fi
  openssl x509 -req -in "$WORK/$name.csr" -CA "$WORK/ca.crt" -CAkey "$WORK/ca.key" \
    -CAcreateserial -out "$WORK/$name.crt" -days 2 "${ext[@]}" 2>/dev/null
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$WORK/ca.key" -out "$WORK/ca.crt" -days 2 -subj /CN=promdir-test-ca 2>/dev/null
cert server localhost 'DNS:localhost,IP:127.0.0.1'
cert client prometheus
cp "$WORK/server.crt" "$WORK/server.key" "$WORK/a/"
cp "$WORK/server.crt" "$WORK/server.key" "$WORK/ca.crt" "$WORK/b/"

HASH=$("$PY" -W ignore -c 'import crypt; print(crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 10)))')
[[ $HASH == '$2b$10$'* ]] || fail "could not make a bcrypt hash: $HASH"
cat >"$WORK/a/web.yml" <<EOF
# relative paths: resolved against this file's directory
tls_server_config:
  cert_file: server.crt
  key_file: server.key
http_server_config:
  headers:
    X-Content-Type-Options: nosniff
basic_auth_users:
  prometheus: '$HASH'
EOF
cat >"$WORK/b/web.yml" <<EOF
tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  min_version: TLS12
EOF

start_tls_collector() {  # NAME: sets PORT_NAME
  local name=$1 port
  port=$(free_port)
  start_bg "$WORK/$name.log" "$COLLECTOR" --dir "$MPDIR" \
    --web.listen-address "127.0.0.1:$port" --web.config.file "$WORK/$name/web.yml"
  local pid=$BG_PID
  for _ in $(seq 100); do
    curl -fsS -o /dev/null --cacert "$WORK/ca.crt" "https://127.0.0.1:$port/-/healthy" 2>/dev/null && break
    kill -0 "$pid" || { cat "$WORK/$name.log" >&2; fail "collector $name exited"; }
    sleep 0.1
  done
  printf -v "PORT_$name" '%s' "$port"
  printf -v "PID_$name" '%s' "$pid"
}
start_tls_collector a
start_tls_collector b
A="https://127.0.0.1:$PORT_a"
B="https://127.0.0.1:$PORT_b"
log "collectors: A (TLS + basic auth) at $A, B (client certificates) at $B"

code() { curl -s -o /dev/null -w '%{http_code}' "$@" || true; }
CA=(--cacert "$WORK/ca.crt")
[[ $(code "${CA[@]}" "$A/metrics") == 401 ]] || fail "A without credentials is not 401"
[[ $(code "${CA[@]}" -u prometheus:wrong "$A/metrics") == 401 ]] || fail "A with a wrong password is not 401"
[[ $(code "${CA[@]}" -u nobody:s3cret "$A/metrics") == 401 ]] || fail "A with an unknown user is not 401"
[[ $(code "${CA[@]}" -u prometheus:s3cret "$A/metrics") == 200 ]] || fail "A with the password is not 200"
curl -fsS "${CA[@]}" -u prometheus:s3cret -D "$WORK/headers" -o "$WORK/body" "$A/metrics"
grep -qi '^X-Content-Type-Options: nosniff' "$WORK/headers" || fail "configured header missing"
grep -q '^net_test_requests_total 7' "$WORK/body" || fail "A did not serve the directory"
plain=$(curl -s "http://127.0.0.1:$PORT_a/metrics" || true)
[[ $plain == *"HTTP request to an HTTPS server"* ]] || fail "plain HTTP to A was not refused: $plain"
if curl -fsS -o /dev/null "${CA[@]}" "$B/metrics" 2>/dev/null; then fail "B served a client without a certificate"; fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$WORK/rogue.key" -out "$WORK/rogue.crt" -days 1 -subj /CN=rogue 2>/dev/null
if curl -fsS -o /dev/null "${CA[@]}" --cert "$WORK/rogue.crt" --key "$WORK/rogue.key" "$B/metrics" 2>/dev/null; then
  fail "B served a client certificate from another CA"
fi
[[ $(code "${CA[@]}" --cert "$WORK/client.crt" --key "$WORK/client.key" "$B/metrics") == 200 ]] ||
  fail "B refused a valid client certificate"
body=$(curl -fsS "${CA[@]}" -u prometheus:s3cret "$A/metrics")
for reason in missing wrong_password unknown_user; do
  grep -q "promdir_collector_http_auth_failures_total{reason=\"$reason\"} 1" <<<"$body" ||
    fail "auth failure $reason not counted"
done
log "curl: 401 without or with wrong credentials, 400 over plain HTTP, handshake refused without a certificate"

# A real Prometheus: right and wrong ways in.
PROM_PORT=$(free_port)
PROM_URL="http://127.0.0.1:$PROM_PORT"
mkdir -p "$WORK/tsdb"
cat >"$WORK/prometheus.yml" <<EOF
global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: basic_auth
    scheme: https
    tls_config: {ca_file: $WORK/ca.crt}
    basic_auth: {username: prometheus, password: s3cret}
    static_configs: [{targets: ['127.0.0.1:$PORT_a']}]
  - job_name: client_cert
    scheme: https
    tls_config: {ca_file: $WORK/ca.crt, cert_file: $WORK/client.crt, key_file: $WORK/client.key}
    static_configs: [{targets: ['127.0.0.1:$PORT_b']}]
  - job_name: wrong_password
    scheme: https
    tls_config: {ca_file: $WORK/ca.crt}
    basic_auth: {username: prometheus, password: guess}
    static_configs: [{targets: ['127.0.0.1:$PORT_a']}]
  - job_name: plain_http
    static_configs: [{targets: ['127.0.0.1:$PORT_a']}]
  - job_name: no_cert
    scheme: https
    tls_config: {ca_file: $WORK/ca.crt}
    static_configs: [{targets: ['127.0.0.1:$PORT_b']}]
EOF
start_bg "$WORK/prometheus.log" prometheus --config.file="$WORK/prometheus.yml" \
  --storage.tsdb.path="$WORK/tsdb" --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn
PROM_PID=$BG_PID
wait_http "$PROM_URL/-/ready" "$PROM_PID" "$WORK/prometheus.log" 60
prom_wait_equal --timeout 60 \
  --expect 'sum by (job) (up)' \
  '{"basic_auth": 1, "client_cert": 1, "wrong_password": 0, "plain_http": 0, "no_cert": 0}' \
  --expect 'sum by (job) (net_test_requests_total)' '{"basic_auth": 7, "client_cert": 7}' ||
  fail "Prometheus did not scrape exactly the authorised jobs"
log "prometheus: TLS + basic auth and TLS + client certificate scrape; the wrong ways are refused"

# Rotate A's certificate while it runs (new key too), renaming into place.
serial() {
  openssl s_client -connect "127.0.0.1:$PORT_a" -CAfile "$WORK/ca.crt" </dev/null 2>/dev/null |
    openssl x509 -noout -serial
}
old=$(serial)
cert rotated localhost 'DNS:localhost,IP:127.0.0.1'
new=$(openssl x509 -noout -serial -in "$WORK/rotated.crt")
[[ -n $old && $old != "$new" ]] || fail "test setup: serials $old / $new"
cp "$WORK/rotated.key" "$WORK/a/server.key.tmp" && mv "$WORK/a/server.key.tmp" "$WORK/a/server.key"
cp "$WORK/rotated.crt" "$WORK/a/server.crt.tmp" && mv "$WORK/a/server.crt.tmp" "$WORK/a/server.crt"
start=$(date +%s%N)
for _ in $(seq 100); do
  [[ $(serial) == "$new" ]] && break
  sleep 0.1
done
[[ $(serial) == "$new" ]] || fail "the rotated certificate was not served (still $(serial))"
rotate_ms=$((($(date +%s%N) - start) / 1000000))
kill -0 "$PID_a" || fail "collector A died during the rotation"
grep -q 'reloaded the TLS certificate' "$WORK/a.log" || fail "no reload logged"
[[ $(code "${CA[@]}" -u prometheus:s3cret "$A/metrics") == 200 ]] || fail "A after rotation"
sleep 3  # several scrapes on the new certificate
prom_wait_equal --timeout 10 --expect 'min(min_over_time(up{job="basic_auth"}[3s]))' 1 ||
  fail "Prometheus stopped scraping A after the rotation"
log "certificate rotated without a restart (served ${rotate_ms} ms after the rename, same pid)"

# A bad config fails at start, naming the file, the line and the field.
printf 'tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  client_auth_type: Always\n' >"$WORK/bad.yml"
set +e
"$COLLECTOR" --dir "$MPDIR" --web.listen-address 127.0.0.1:0 --web.config.file "$WORK/bad.yml" 2>"$WORK/bad.log"
rc=$?
set -e
[[ $rc == 2 ]] || fail "a bad config exited $rc, not 2"
grep -q "$WORK/bad.yml:4: tls_server_config.client_auth_type" "$WORK/bad.log" ||
  fail "bad config error does not name file:line:field: $(cat "$WORK/bad.log")"
printf 'tls_server_config:\n  cert_file: missing.crt\n  key_file: a.key\n' >"$WORK/bad2.yml"
set +e
"$COLLECTOR" --dir "$MPDIR" --web.listen-address 127.0.0.1:0 --web.config.file "$WORK/bad2.yml" 2>"$WORK/bad2.log"
rc=$?
set -e
[[ $rc != 0 ]] && grep -q "missing.crt" "$WORK/bad2.log" || fail "a missing certificate was not reported: $(cat "$WORK/bad2.log")"
log "bad configs refused at start: $(head -c 200 "$WORK/bad.log")"
log "PASS"
