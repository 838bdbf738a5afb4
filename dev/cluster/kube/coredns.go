package main

import (
	goflag "flag"

	"github.com/coredns/coredns/coremain"

	// The cluster DNS needs only these plugins; leaving out the rest keeps
	// the cloud SDKs some of them pull in out of the build.
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
	_ "github.com/coredns/coredns/plugin/template"
)

// corednsFlags are the flags coremain registers on the standard library's
// global flag set when it is initialised.
var corednsFlags = []string{"conf", "plugins", "pidfile", "version", "quiet", "log-format", "dns.port", "p"}

// runCoreDNS runs CoreDNS as if it were its own binary; coremain parses
// os.Args itself.
func runCoreDNS() {
	coremain.Run()
}

// hideCoreDNSFlags removes CoreDNS's flags from the global flag set, which
// some Kubernetes commands (kube-proxy) merge into their own: "version" would
// otherwise be defined twice.
func hideCoreDNSFlags() {
	skip := map[string]bool{}
	for _, n := range corednsFlags {
		skip[n] = true
	}
	fresh := goflag.NewFlagSet(goflag.CommandLine.Name(), goflag.ExitOnError)
	goflag.CommandLine.VisitAll(func(f *goflag.Flag) {
		if !skip[f.Name] {
			fresh.Var(f.Value, f.Name, f.Usage)
		}
	})
	goflag.CommandLine = fresh
}
