// Command gpudaemon-interop is an independent gRPC peer built on grpc-go, the
// gRPC implementation the kubelet uses. GpuDaemon's tests run it against
// GpuDaemon's own gRPC-over-HTTP/2 layer to prove the two interoperate:
//
//	gpudaemon-interop client --socket PATH   check a DevicePlugin server
//	gpudaemon-interop server --socket PATH   serve the Registration service
//	gpudaemon-interop kubelet --dir DIR      emulate the kubelet against a plugin
//	gpudaemon-interop load --socket PATH     measure Allocate latency and rate
//	gpudaemon-interop baseline-plugin --socket PATH
//	                                         serve a grpc-go DevicePlugin to compare with
//	gpudaemon-interop faultlat --socket PATH --scenario FILE --uuid U
//	                                         time a scenario fault until ListAndWatch shows it
//	gpudaemon-interop execreg --dir DIR -- CMD...
//	                                         time a plugin from exec to accepted registration
//	gpudaemon-interop podresources --socket PATH --pod NS/POD/CONTAINER=RESOURCE:IDS
//	                                         serve the kubelet's pod-resources List
//	gpudaemon-interop scrape --url URL        measure /metrics scrape latency
//
// All roles use unix sockets only, like the kubelet and its device plugins.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

type command struct {
	name    string
	summary string
	run     func(args []string) int
}

var commands = []command{
	{"client", "run the interop checks against a DevicePlugin server", runClient},
	{"server", "serve the Registration service and report registrations", runServer},
	{"kubelet", "emulate the kubelet: registration, devices, allocation, restarts", runKubelet},
	{"load", "run Allocate calls against a DevicePlugin server and report latency", runLoad},
	{"baseline-plugin", "serve a grpc-go DevicePlugin as a load target to compare with", runBaselinePlugin},
	{"faultlat", "time scenario-file faults until ListAndWatch shows them", runFaultLatency},
	{"execreg", "time a plugin process from exec until its registration is accepted", runExecRegister},
	{"podresources", "serve the kubelet's pod-resources List with a fixed answer", runPodResourcesServer},
	{"scrape", "scrape /metrics like Prometheus and report latency", runScrape},
	{"counters", "read series from /metrics once and print their values", runCounters},
}

func main() {
	os.Exit(dispatch(os.Args[1:]))
}

func dispatch(args []string) int {
	if len(args) == 0 {
		usage(os.Stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(os.Stdout)
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:])
		}
	}
	fmt.Fprintf(os.Stderr, "gpudaemon-interop: unknown command %q\n", args[0])
	usage(os.Stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: gpudaemon-interop COMMAND [flags]")
	fmt.Fprintln(w, "commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-15s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "run 'gpudaemon-interop COMMAND -h' for the flags of a command")
}

// newFlagSet returns a flag set for a subcommand that reports errors instead of
// exiting, so each subcommand decides its own exit status.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("gpudaemon-interop "+name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	return fs
}

// parseFlags parses args and returns the exit status to use when parsing did
// not succeed (ok is false then).
func parseFlags(fs *flag.FlagSet, args []string) (status int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "%s: unexpected arguments: %q\n", fs.Name(), fs.Args())
		return exitUsage, false
	}
	return exitOK, true
}
