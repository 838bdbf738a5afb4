# shellcheck shell=bash disable=SC2034
# Shared settings of the development cluster's scripts (sourced, not run).
# Everything is overridable from the environment.

# The pinned versions: kube/go.mod holds them (`build` checks that it
# agrees); changing it changes the cache key, so the next run rebuilds.
KUBE_VERSION=v1.37.2
COREDNS_VERSION=v1.15.0

HKS_CACHE="${HKS_CACHE:-/var/cache/hks}"
# All state of a running cluster lives here; `down` removes what it created.
HKS_CLUSTER_STATE="${HKS_CLUSTER_STATE:-/var/lib/hks-cluster}"

_cluster_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
_hash() { (cd "$_cluster_dir" && cat -- "$@" | sha256sum | cut -c1-12); }
_d="$_cluster_dir"
# The key covers the pins and the sources, so editing the Go module rebuilds.
KUBE_DIR="$HKS_CACHE/k8s-$KUBE_VERSION-$(_hash "$_d"/kube/go.mod "$_d"/kube/go.sum "$_d"/kube/*.go "$_d"/build)"
mapfile -t _tool_sources < <(find "$_d"/tools -name '*.go' | sort)
TOOLS_DIR="$HKS_CACHE/tools-$(_hash "$_d"/tools/go.mod "${_tool_sources[@]}")"
# tools/hks-invoke (its own Go module at the repository's root), the HTTP
# client of CronJobs that call a Function; images/build builds it into the
# base image. Its own key, so that neither this nor `build` changes the
# Kubernetes or tools keys.
HKS_INVOKE_SRC="$(cd "$_d/../../tools/hks-invoke" && pwd)"
INVOKE_DIR="$HKS_CACHE/invoke-$(_hash "$HKS_INVOKE_SRC"/go.mod "$HKS_INVOKE_SRC"/*.go)"
PAUSE_DIR="$HKS_CACHE/pause-$(_hash "$_d"/images/pause.c)"
HKS_KUBE="$KUBE_DIR/bin/hks-kube"

log() { printf '[hksc %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }
