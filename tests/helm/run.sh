#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks the Helm chart deploy/helm/chord without a cluster: installs helm
# (go install, cached), builds and unit-tests tools/chartcheck, runs
# `helm lint --strict` and `helm template` for several value sets, checks
# every rendered manifest with chartcheck (strict decoding into the k8s.io/api
# types, selectors, ports, volumes, references) and asserts what users rely
# on (replicas, advertised names, TLS and token settings only when on,
# metrics, probes, claims), and that bad values are refused.
#   tests/helm/run.sh
# Needs Go (1.26 or later; the module proxy for the first run) and the
# coreutils `timeout`. Every step has a time bound. Ends with one line,
# "helm chart test: PASS ..." or "helm chart test: FAIL at STEP: WHY ..."
# (exit 1). Knobs:
#   HELM_VERSION      helm to install (v3.22.0)
#   CHORD_TOOLS_DIR   where helm is kept (${XDG_CACHE_HOME:-~/.cache}/chord-tools)
#   KUBE_VERSION      Kubernetes version to render for (1.33.0)
#   CHORD_CHART       the chart directory (deploy/helm/chord)
#   CHORD_TEST_KEEP=1 keep the rendered manifests (their directory is printed)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
chart=${CHORD_CHART:-$root/deploy/helm/chord}
checker_src=$root/tools/chartcheck
HELM_VERSION=${HELM_VERSION:-v3.22.0}
HELM_K8S_MINOR=37 # Kubernetes 1.37: the client-go of helm v3.22
KUBE_VERSION=${KUBE_VERSION:-1.33.0}
tools=${CHORD_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/chord-tools}

t0=$(date +%s%N)
timings=""
checks=0
step_name=setup

work=$(mktemp -d "${TMPDIR:-/tmp}/chord-helm-test.XXXXXX")
cleanup() {
  if [ "${CHORD_TEST_KEEP:-0}" = 1 ]; then
    echo "tests/helm/run.sh: rendered manifests kept in $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

secs() { # nanoseconds since $1, as seconds with one decimal
  local ns=$(($(date +%s%N) - $1))
  printf '%d.%d' $((ns / 1000000000)) $((ns / 100000000 % 10))
}

fail() {
  echo "helm chart test: FAIL at $step_name: $*; $(secs "$t0")s" >&2
  exit 1
}

# step NAME: starts a timed step; done_step closes it.
step() {
  step_name=$1
  step_t0=$(date +%s%N)
  echo "== $step_name"
}
done_step() { timings="$timings, $step_name $(secs "$step_t0")s"; }

# bounded SECONDS CMD...: the command, killed when it overruns.
bounded() {
  local limit=$1
  shift
  timeout --kill-after=10 "$limit" "$@"
}

# ---- Go and helm --------------------------------------------------------------
step go
go=$(command -v go || true)
[ -n "$go" ] || [ ! -x /usr/local/go/bin/go ] || go=/usr/local/go/bin/go
if [ -z "$go" ]; then
  echo "tests/helm/run.sh: go is missing: install Go 1.26 or later" \
    "(the chart test builds helm and tools/chartcheck with it)" >&2
  fail "go is missing"
fi
command -v timeout >/dev/null || fail "timeout (coreutils) is missing"
"$go" version
done_step

step helm
helm=$tools/bin/helm
# Reused when it is this version built with the release's settings.
if [ -x "$helm" ] && "$go" version -m "$helm" 2>/dev/null |
  grep -q "internal/version.version=$HELM_VERSION "; then
  echo "reusing $helm"
else
  echo "installing helm $HELM_VERSION into $tools/bin (go install; a few minutes the first time)"
  mkdir -p "$tools/bin"
  # As helm's Makefile does: its version, and the Kubernetes version it
  # assumes when none is given.
  ldflags="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  ldflags="$ldflags -X helm.sh/helm/v3/internal/version.metadata="
  for pkg in pkg/lint/rules pkg/chartutil; do
    ldflags="$ldflags -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1"
    ldflags="$ldflags -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$HELM_K8S_MINOR"
  done
  (cd "$tools" && GOBIN=$tools/bin bounded 1500 "$go" install \
    -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION") ||
    fail "go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION failed"
fi
bounded 60 "$helm" version --short || fail "helm does not run"
done_step

# ---- chartcheck -----------------------------------------------------------------
step "chartcheck build"
(cd "$checker_src" && bounded 900 "$go" build -buildvcs=false -o "$work/chartcheck" .) ||
  fail "go build of tools/chartcheck failed"
done_step

step "chartcheck go test"
(cd "$checker_src" && bounded 900 "$go" test -buildvcs=false -count=1 ./...) ||
  fail "go test of tools/chartcheck failed"
done_step

# ---- value sets -------------------------------------------------------------------
# name|release|namespace|--set values (empty: the defaults)
sets=(
  "defaults|chord|default|"
  "mem|chord|default|nodes.store.type=mem"
  "dir|chord|default|nodes.store.type=dir,nodes.store.size=20Gi,nodes.store.storageClassName=fast"
  "tls-token|chord|default|tls.enabled=true,token.enabled=true"
  "metrics-json|chord|default|metrics.enabled=true,log.format=json"
  "7-nodes|prod|store|nodes.replicas=7"
  "options|x|default|serviceAccount.create=false,tests.enabled=false,nodes.preStopSleepSeconds=0,token.enabled=true,token.clientKey=,podAnnotations.team=storage,metrics.enabled=true,supernode.lease=20s,nodes.extraArgs[0]=--repair-interval,nodes.extraArgs[1]=1m,nodes.tolerations[0].key=dedicated,nodes.tolerations[0].operator=Exists"
)

# set_args SET: the release, namespace and values of a set, one a line.
set_args() {
  local rel ns vals
  IFS='|' read -r _ rel ns vals <<<"$1"
  printf '%s\n' "$rel" "$chart" --namespace "$ns" --kube-version "$KUBE_VERSION"
  [ -z "$vals" ] || printf '%s\n' --set "$vals"
}

step "helm lint"
for s in "${sets[@]}"; do
  mapfile -t args < <(set_args "$s")
  # lint takes the chart, not a release name.
  bounded 120 "$helm" lint --strict "${args[@]:1}" >"$work/lint.log" 2>&1 || {
    cat "$work/lint.log" >&2
    fail "helm lint --strict failed for value set ${s%%|*}"
  }
  checks=$((checks + 1))
done
echo "lint --strict: ${#sets[@]} value sets"
done_step

step "helm template + chartcheck"
for s in "${sets[@]}"; do
  name=${s%%|*}
  mapfile -t args < <(set_args "$s")
  bounded 120 "$helm" template "${args[@]}" >"$work/$name.yaml" 2>"$work/$name.err" || {
    cat "$work/$name.err" >&2
    fail "helm template failed for value set $name"
  }
  echo "-- $name"
  bounded 60 "$work/chartcheck" "$work/$name.yaml" | tee "$work/$name.check" ||
    fail "chartcheck rejected value set $name (see above)"
  checks=$((checks + 1))
done
done_step

# ---- what users rely on -----------------------------------------------------------
# has SET FIXED-STRING WHAT / hasnt ... / count SET FIXED-STRING N WHAT
# look in the rendered manifest of a set; chk SET REGEX WHAT looks in
# chartcheck's summary of it.
has() {
  grep -qF -- "$2" "$work/$1.yaml" || fail "$1: $3 (no \"$2\")"
  checks=$((checks + 1))
}
hasnt() {
  ! grep -qF -- "$2" "$work/$1.yaml" || fail "$1: $3 (found \"$2\")"
  checks=$((checks + 1))
}
count() {
  local n
  n=$(grep -cF -- "$2" "$work/$1.yaml" || true)
  [ "$n" -eq "$3" ] || fail "$1: $4 (\"$2\" $n times, want $3)"
  checks=$((checks + 1))
}
chk() {
  grep -qE -- "$2" "$work/$1.check" || fail "$1: $3 (chartcheck summary lacks /$2/)"
  checks=$((checks + 1))
}
# next_line SET FIXED-STRING EXPECTED WHAT: the line after the first match.
next_line() {
  local got
  got=$(grep -A1 -F -- "$2" "$work/$1.yaml" | sed -n 2p | sed 's/^ *//')
  [ "$got" = "$3" ] || fail "$1: $4 (after \"$2\": \"$got\", want \"$3\")"
  checks=$((checks + 1))
}

step assertions
# Defaults: 3 nodes, mem store, plaintext, gRPC probes, stable names.
chk defaults '^ok   StatefulSet/chord-node .* 3 replica\(s\), serviceName chord-ring, claim templates none' "3 nodes, no claims"
chk defaults '^ok   Deployment/chord-supernode .* 1 replica\(s\)' "one supernode"
chk defaults '^ok   Service/chord-supernode .* ClusterIP, ports grpc:7000' "supernode Service on 7000"
chk defaults '^ok   Service/chord-ring .* headless, ports grpc:7001' "headless node Service"
# shellcheck disable=SC2016 # $(VAR) is literal: the kubelet expands it
has defaults 'value: "$(POD_NAME).chord-ring.$(POD_NAMESPACE).svc.cluster.local"' "nodes advertise POD.HEADLESS.NS.svc.DOMAIN"
# shellcheck disable=SC2016 # $(VAR) is literal: the kubelet expands it
has defaults 'value: "chord-supernode.$(POD_NAMESPACE).svc.cluster.local:7000"' "nodes find the supernode by its full name"
next_line defaults 'name: CHORD_PORT' 'value: "7001"' "nodes serve on 7001"
has defaults 'publishNotReadyAddresses: true' "joining pods resolve before they are ready"
has defaults 'clusterIP: None' "the node Service is headless"
has defaults 'podManagementPolicy: Parallel' "nodes start in parallel"
has defaults 'terminationGracePeriodSeconds: 60' "nodes get 60 s to leave"
has defaults 'command: ["sleep", "5"]' "preStop pause"
count defaults 'grpc:' 6 "gRPC startup, readiness and liveness probes on both daemons"
count defaults 'startupProbe:' 2 "startup probes on both daemons"
next_line defaults 'name: CHORD_STORE' 'value: "mem"' "mem store by default"
next_line defaults '- --log-format' '- "text"' "text logs by default"
hasnt defaults 'CHORD_TLS_' "no TLS unless enabled"
hasnt defaults 'CHORD_TOKEN_FILE' "no token unless enabled"
hasnt defaults 'CHORD_CLIENT_TOKEN_FILE' "no client token unless enabled"
hasnt defaults '--metrics-listen' "no metrics unless enabled"
hasnt defaults 'prometheus.io/scrape' "no scrape annotation unless enabled"
hasnt defaults 'volumeClaimTemplates' "no claims with the mem store"
count defaults 'readOnlyRootFilesystem: true' 3 "read-only root in every container"
count defaults 'runAsUser: 10001' 3 "every pod runs as the image's user"

next_line mem 'name: CHORD_STORE' 'value: "mem"' "mem store"
hasnt mem 'volumeClaimTemplates' "no claims with the mem store"

chk dir 'StatefulSet/chord-node .* claim templates data' "a claim template with the dir store"
next_line dir 'name: CHORD_STORE' 'value: "dir"' "dir store"
has dir 'storage: "20Gi"' "the claim's size"
has dir 'storageClassName: "fast"' "the claim's StorageClass"
has dir 'mountPath: /var/lib/chord' "the claim on the data directory"
has dir 'fsGroup: 10001' "the volume writable by the image's user"

# TLS and tokens: each role's certificate from the Secret, the probes
# through chordctl (the kubelet's gRPC probe has no TLS).
count tls-token 'name: CHORD_TLS_CA' 3 "CA for supernode, nodes and the test pod"
count tls-token 'name: CHORD_TLS_SERVER_NAME' 3 "server name everywhere"
next_line tls-token 'name: CHORD_TLS_SERVER_NAME' 'value: "chord"' "the name make-certs.sh puts in every certificate"
has tls-token 'value: /etc/chord/tls/supernode.pem' "the supernode's certificate"
has tls-token 'value: /etc/chord/tls/node.key' "the node's key"
has tls-token 'value: /etc/chord/tls/client.pem' "the test pod's client certificate"
count tls-token 'name: CHORD_TOKEN_FILE' 3 "a token everywhere"
count tls-token 'name: CHORD_CLIENT_TOKEN_FILE' 2 "daemons require the client token"
has tls-token 'value: /etc/chord/token/client-token' "client token path"
count tls-token 'secretName: chord-tls' 3 "TLS Secret mounted in each pod"
count tls-token 'secretName: chord-token' 3 "token Secret mounted in each pod"
count tls-token 'readOnly: true' 6 "Secrets mounted read-only"
hasnt tls-token 'ca.key' "the CA key is never mounted"
hasnt tls-token 'grpc:' "no plaintext gRPC probes with TLS"
count tls-token '- health' 6 "probes run chordctl health"

count metrics-json '- --metrics-listen' 2 "metrics on both daemons"
next_line metrics-json '- --metrics-listen' '- "0.0.0.0:9100"' "metrics on 0.0.0.0:9100"
count metrics-json 'prometheus.io/scrape: "true"' 2 "scrape annotation on both pods"
count metrics-json 'containerPort: 9100' 2 "a metrics container port on both daemons"
count metrics-json '- name: metrics' 2 "the metrics port is named"
next_line metrics-json '- --log-format' '- "json"' "JSON logs"

chk 7-nodes '^ok   StatefulSet/prod-chord-node .* 7 replica\(s\), serviceName prod-chord-ring' "7 nodes named after the release"
# shellcheck disable=SC2016 # $(VAR) is literal: the kubelet expands it
has 7-nodes 'value: "$(POD_NAME).prod-chord-ring.$(POD_NAMESPACE).svc.cluster.local"' "advertised names follow the release"
has 7-nodes 'value: "prod-chord-supernode.store.svc.cluster.local:7000"' "the test pod dials the release's supernode"

hasnt options 'lifecycle:' "no preStop hook when nodes.preStopSleepSeconds is 0"
count options 'name: CHORD_TOKEN_FILE' 2 "the cluster token on both daemons"
hasnt options 'CHORD_CLIENT_TOKEN_FILE' "no client token when token.clientKey is empty"
count options 'serviceAccountName: default' 2 "the default ServiceAccount when none is made"
hasnt options 'kind: ServiceAccount' "no ServiceAccount when serviceAccount.create is false"
hasnt options 'helm.sh/hook: test' "no test pod when tests.enabled is false"
count options 'team: storage' 2 "pod annotations on both pods"
count options 'prometheus.io/scrape: "true"' 2 "scrape annotations beside the user's"
next_line options '- --lease' '- "20s"' "supernode.lease becomes --lease"
next_line options '- --repair-interval' '- 1m' "nodes.extraArgs follow the flags"
has options 'key: dedicated' "node tolerations"
done_step

# ---- values that must be refused --------------------------------------------------
step "refused values"
refuse() { # refuse WHAT EXPECTED-ERROR HELM-TEMPLATE-ARGS...
  local what=$1 want=$2
  shift 2
  if bounded 120 "$helm" template chord "$chart" --kube-version "$KUBE_VERSION" "$@" \
    >"$work/refused.yaml" 2>"$work/refused.err"; then
    fail "helm template accepted $what ($*)"
  fi
  grep -qF -- "$want" "$work/refused.err" || {
    cat "$work/refused.err" >&2
    fail "helm template refused $what, but not with \"$want\""
  }
  echo "refused: $what: $want"
  checks=$((checks + 1))
}
refuse "a store other than mem or dir" "value must be one of 'mem', 'dir'" \
  --set nodes.store.type=disk
refuse "a misspelled value" "additional properties 'replica' not allowed" \
  --set nodes.replica=5
refuse "more replicas than successors" "must not exceed nodes.successors" \
  --set nodes.replicationFactor=5
refuse "a grace period too short to leave" "must leave 20 s for the leave" \
  --set nodes.terminationGracePeriodSeconds=20
refuse "Kubernetes older than 1.27 (no gRPC probes)" "incompatible with Kubernetes v1.26.0" \
  --kube-version 1.26.0
done_step

echo "helm chart test: PASS ($checks checks, ${#sets[@]} value sets; $(secs "$t0")s:${timings#,})"
