# shellcheck shell=bash
# `hksc vcluster create|delete|list|kubeconfig|restart`: tenants' virtual
# clusters on the development cluster (sourced by hksc, which defines
# kubectl, ctr_, log, die, wait_for and $S, $here).
#
# A vCluster NAME lives in the host namespace `vcluster-NAME`, deployed from
# vCluster's own chart (`helm template` with vcluster/values.yaml), with
# Kubernetes' own apiserver and controller manager inside (the project's
# hks-kube, the same v1.37.2 as the host), kine over SQLite as its store on a
# PersistentVolume under $HKS_CLUSTER_STATE/vclusters/NAME, and its CoreDNS.
# vCluster writes its kubeconfig into the Secret `vc-NAME` (key `config`)
# in that namespace; its server is the in-cluster address
# https://NAME.vcluster-NAME.svc:443. Host processes (HKS in ./dev/run, the
# tests) cannot route to Service addresses (the containment makes the range
# unreachable from the host); they reach the same Service at its NodePort on
# loopback, https://127.0.0.1:<port> (`hksc vcluster server NAME`), which
# vCluster's certificate covers.
#
# The host namespace enforces Pod Security's baseline: the tenant's pods,
# which the syncer creates there, can be no more privileged than HKS's own
# project namespaces allow.

VCLUSTER_VALUES="$here/vcluster/values.yaml"
VCLUSTER_LABEL=hks.dev/vcluster

vc_usage() {
	die "usage: hksc vcluster create NAME | delete NAME | list | server NAME | kubeconfig NAME | kubectl NAME ARGS... | restart NAME"
}

vc_check_name() {
	[[ ${1:-} =~ ^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$ ]] ||
		die "a vCluster's name is a DNS label of at most 32 characters (a-z, 0-9, '-', starting with a letter): '${1:-}'"
}

# The chart rendered for NAME: every object the vCluster is made of.
vc_render() {
	local name=$1 ns="vcluster-$1"
	"$HELM_DIR/helm" template "$name" "$VCLUSTER_DIR/chart" --namespace "$ns" \
		--values "$VCLUSTER_VALUES" \
		--set "exportKubeConfig.server=https://$name.$ns.svc:443" \
		--set "controlPlane.proxy.extraSANs={$name.$ns.svc}" \
		--set controlPlane.service.spec.type=NodePort
}

vc_node_port() {
	kubectl -n "vcluster-$1" get service "$1" -o jsonpath='{.spec.ports[?(@.name=="https")].nodePort}' 2>/dev/null
}

# The server URL through which host processes reach the vCluster.
vc_server() {
	local port
	port=$(vc_node_port "$1") && [[ -n $port ]] || die "no vCluster $1 (run: hksc vcluster create $1)"
	echo "https://127.0.0.1:$port"
}

# vCluster's kubeconfig (Secret vc-NAME), pointed at the host-reachable server.
vc_kubeconfig() {
	local name=$1 server
	server=$(vc_server "$name")
	kubectl -n "vcluster-$name" get secret "vc-$name" -o jsonpath='{.data.config}' 2>/dev/null |
		base64 -d | sed "s#^\(\s*server:\).*#\1 $server#"
}

vc_api_ready() {
	local name=$1 kc
	kc=$(mktemp)
	vc_kubeconfig "$name" >"$kc" 2>/dev/null || {
		rm -f "$kc"
		return 1
	}
	"$HKS_KUBE" kubectl --kubeconfig "$kc" --request-timeout=3s get --raw /readyz >/dev/null 2>&1
	local ok=$?
	rm -f "$kc"
	return $ok
}

vc_create() {
	local name=$1 ns="vcluster-$1" start=$SECONDS
	vc_check_name "$name"
	[[ -f $S/admin.kubeconfig ]] && kubectl get --raw /readyz >/dev/null 2>&1 ||
		die "the development cluster is not up: run 'hksc up'"
	"$here/vcluster/build"
	import_images vcluster
	# The namespace first, with Pod Security enforced before any pod exists.
	kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: $ns
  labels:
    $VCLUSTER_LABEL: $name
    pod-security.kubernetes.io/enforce: baseline
    pod-security.kubernetes.io/enforce-version: latest
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $ns-data
  labels:
    $VCLUSTER_LABEL: $name
spec:
  storageClassName: hks-vcluster
  capacity:
    storage: 5Gi
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  claimRef:
    namespace: $ns
    name: data-$name-0
  hostPath:
    path: $S/vclusters/$name
    type: DirectoryOrCreate
YAML
	vc_render "$name" | kubectl apply -f - >/dev/null
	wait_for 300 "vCluster $name's API" vc_api_ready "$name"
	log "vCluster $name is ready in $((SECONDS - start)) s: namespace $ns, Secret vc-$name, server $(vc_server "$name")"
}

vc_delete() {
	local name=$1 ns="vcluster-$1"
	vc_check_name "$name"
	if kubectl get namespace "$ns" >/dev/null 2>&1; then
		"$here/vcluster/build"
		# The chart's cluster-wide objects, then the namespace with
		# everything in it (the control plane, the tenant's synced pods).
		vc_render "$name" | kubectl delete --ignore-not-found --wait=false -f - >/dev/null 2>&1 || true
		kubectl delete namespace "$ns" --ignore-not-found --timeout=180s >/dev/null
	fi
	kubectl delete persistentvolume "$ns-data" --ignore-not-found >/dev/null
	rm -rf "${S:?}/vclusters/$name"
	log "vCluster $name is deleted"
}

vc_list() {
	local ns name ready
	printf '%-20s %-28s %-8s %s\n' NAME NAMESPACE READY SERVER
	while read -r ns name; do
		[[ -n $ns ]] || continue
		if vc_api_ready "$name"; then ready=yes; else ready=no; fi
		printf '%-20s %-28s %-8s %s\n' "$name" "$ns" "$ready" "$(vc_server "$name" 2>/dev/null || echo -)"
	done < <(kubectl get namespaces -l "$VCLUSTER_LABEL" \
		-o jsonpath="{range .items[*]}{.metadata.name} {.metadata.labels.hks\.dev/vcluster}{\"\\n\"}{end}")
}

# Deletes the control plane's pod (its StatefulSet makes it again, on the
# same data) and waits until the API answers again.
vc_restart() {
	local name=$1
	vc_check_name "$name"
	kubectl -n "vcluster-$name" delete pod "$name-0" --wait=true >/dev/null
	wait_for 300 "vCluster $name's API after the restart" vc_api_ready "$name"
	log "vCluster $name restarted"
}

cmd_vcluster() {
	local action=${1:-}
	shift || true
	case "$action" in
	create) [[ $# -eq 1 ]] || vc_usage; vc_create "$1" ;;
	delete) [[ $# -eq 1 ]] || vc_usage; vc_delete "$1" ;;
	list) vc_list ;;
	server) [[ $# -eq 1 ]] || vc_usage; vc_server "$1" ;;
	kubeconfig) [[ $# -eq 1 ]] || vc_usage; vc_kubeconfig "$1" ;;
	restart) [[ $# -eq 1 ]] || vc_usage; vc_restart "$1" ;;
	kubectl)
		[[ $# -ge 1 ]] || vc_usage
		local name=$1 kc status=0
		shift
		kc=$(mktemp)
		vc_kubeconfig "$name" >"$kc"
		"$HKS_KUBE" kubectl --kubeconfig "$kc" "$@" || status=$?
		rm -f "$kc"
		return $status
		;;
	*) vc_usage ;;
	esac
}
