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

# vCluster (the tenants' virtual clusters, `hksc vcluster`): built from the
# source in ../shared/third_party (no registry here serves it), with kine
# (its embedded SQLite store) and helm (which renders vCluster's own chart)
# from the Go module proxy. Keyed by the tarball's content and the pins.
KINE_VERSION=v0.17.5
HELM_VERSION=v3.22.0
_repo="$(cd "$_d/../.." && pwd)"
if [[ -z ${HKS_THIRD_PARTY:-} ]]; then
	HKS_THIRD_PARTY="$_repo/../shared/third_party"
	# A clone elsewhere (a fresh checkout under /tmp) finds the shared
	# directory of the machine's workspace.
	[[ -d $HKS_THIRD_PARTY ]] || HKS_THIRD_PARTY=/work/shared/third_party
fi
VCLUSTER_TARBALL="$HKS_THIRD_PARTY/vcluster-487667546c58.tar.gz"
VCLUSTER_SHA256=4d14d535de2e5c599ec0811cb4e0860c62ea851e868d0acac76824035369ab36
VCLUSTER_DIR="$HKS_CACHE/vcluster-${VCLUSTER_SHA256:0:12}-$(_hash "$_d"/vcluster/build)"
KINE_DIR="$HKS_CACHE/kine-$KINE_VERSION-$(_hash "$_d"/vcluster/build)"
HELM_DIR="$HKS_CACHE/helm-$HELM_VERSION"

log() { printf '[hksc %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }
