// Command hks-kube is the Kubernetes of the HKS development cluster: one
// binary holding kube-apiserver, kube-controller-manager, kube-scheduler,
// kubelet, kube-proxy, kubectl and CoreDNS, in the manner of the old hyperkube, so that
// the very large dependency graph is compiled and linked once.
//
// The component is chosen by the first argument (`hks-kube kubelet ...`) or,
// failing that, by the name the binary was called by (a symlink named
// `kubectl`).
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	_ "time/tzdata" // CronJob time zones in the apiserver and controller-manager.

	"github.com/spf13/cobra"
	_ "k8s.io/client-go/plugin/pkg/client/auth"
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

// servers maps each long-running component to its cobra command, built
// lazily so that only the chosen one registers its flags.
var servers = map[string]func() *cobra.Command{
	"kube-apiserver":          apiserver.NewAPIServerCommand,
	"kube-controller-manager": controllermanager.NewControllerManagerCommand,
	"kube-scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
	"kubelet":                 func() *cobra.Command { return kubelet.NewKubeletCommand(context.Background()) },
	"kube-proxy":              proxy.NewProxyCommand,
}

func main() {
	name := filepath.Base(os.Args[0])
	args := os.Args[1:]
	if _, ok := servers[name]; !ok && name != "kubectl" && name != "coredns" {
		if len(args) == 0 {
			usage()
			os.Exit(2)
		}
		name, args = args[0], args[1:]
	}
	// Each command parses os.Args[1:] itself, so present it the arguments
	// as if it had been called directly.
	os.Args = append([]string{name}, args...)

	if name == "coredns" {
		runCoreDNS()
		return
	}
	hideCoreDNSFlags()

	if name == "kubectl" {
		logs.GlogSetter(kubectlcmd.GetLogVerbosity(os.Args)) //nolint:errcheck
		command := kubectlcmd.NewDefaultKubectlCommand()
		if err := cli.RunNoErrOutput(command); err != nil {
			kubectlutil.CheckErr(err)
		}
		return
	}
	newCommand, ok := servers[name]
	if !ok {
		usage()
		os.Exit(2)
	}
	os.Exit(cli.Run(newCommand()))
}

func usage() {
	names := []string{"coredns", "kubectl"}
	for n := range servers {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage: hks-kube COMPONENT [ARGS...]\ncomponents: %v\n", names)
}
