package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"google.golang.org/grpc"

	prpb "gpudaemon/interop/podresv1"
)

// podSpecs collects repeated --pod flags, each NAMESPACE/POD/CONTAINER=RESOURCE:ID[,ID...], or
// NAMESPACE/POD/CONTAINER alone for a container that holds no device (a CPU-only pod).
type podSpecs []string

func (p *podSpecs) String() string     { return strings.Join(*p, " ") }
func (p *podSpecs) Set(v string) error { *p = append(*p, v); return nil }

// podResourcesServer plays the kubelet's pod-resources service with a fixed answer.
type podResourcesServer struct {
	prpb.UnimplementedPodResourcesListerServer
	answer *prpb.ListPodResourcesResponse
	calls  int64
}

func (s *podResourcesServer) List(context.Context, *prpb.ListPodResourcesRequest) (*prpb.ListPodResourcesResponse, error) {
	printLine("LIST %d", atomic.AddInt64(&s.calls, 1))
	return s.answer, nil
}

// buildAnswer turns the --pod specs into one List answer, grouping containers by pod.
func buildAnswer(specs []string) (*prpb.ListPodResourcesResponse, error) {
	answer := &prpb.ListPodResourcesResponse{}
	pods := map[string]*prpb.PodResources{}
	for _, spec := range specs {
		who, devices, hasDevices := strings.Cut(spec, "=")
		parts := strings.Split(who, "/")
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return nil, fmt.Errorf("--pod %q: want NAMESPACE/POD/CONTAINER[=RESOURCE:ID[,ID...]]", spec)
		}
		container := &prpb.ContainerResources{Name: parts[2]}
		if hasDevices {
			resource, ids, ok := strings.Cut(devices, ":")
			if !ok || resource == "" || ids == "" {
				return nil, fmt.Errorf("--pod %q: want NAMESPACE/POD/CONTAINER[=RESOURCE:ID[,ID...]]", spec)
			}
			container.Devices = []*prpb.ContainerDevices{{ResourceName: resource, DeviceIds: strings.Split(ids, ",")}}
		}
		key := parts[0] + "/" + parts[1]
		pod := pods[key]
		if pod == nil {
			pod = &prpb.PodResources{Namespace: parts[0], Name: parts[1]}
			pods[key] = pod
			answer.PodResources = append(answer.PodResources, pod)
		}
		pod.Containers = append(pod.Containers, container)
	}
	return answer, nil
}

// readPodsFile reads --pod specs from a file, one per line; blank lines and lines starting with # are skipped.
func readPodsFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var specs []string
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			specs = append(specs, line)
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("--pods-file %s: %v", path, err)
	}
	return specs, nil
}

func runPodResourcesServer(args []string) int {
	fs := newFlagSet("podresources")
	socket := fs.String("socket", "", "unix socket to serve the pod-resources service on (required)")
	var specs podSpecs
	fs.Var(&specs, "pod", "a container: NAMESPACE/POD/CONTAINER=RESOURCE:ID[,ID...], or NAMESPACE/POD/CONTAINER holding no device (repeatable)")
	podsFile := fs.String("pods-file", "", "more --pod specs, one per line (blank lines and # comments skipped)")
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	if *socket == "" {
		fmt.Fprintln(os.Stderr, "gpudaemon-interop podresources: --socket is required")
		return exitUsage
	}
	if *podsFile != "" {
		more, err := readPodsFile(*podsFile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gpudaemon-interop podresources: %v\n", err)
			return exitUsage
		}
		specs = append(specs, more...)
	}
	answer, err := buildAnswer(specs)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gpudaemon-interop podresources: %v\n", err)
		return exitUsage
	}

	if err := os.Remove(*socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "gpudaemon-interop podresources: removing stale socket: %v\n", err)
		return exitFail
	}
	lis, err := net.Listen("unix", *socket)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gpudaemon-interop podresources: %v\n", err)
		return exitFail
	}
	srv := grpc.NewServer()
	prpb.RegisterPodResourcesListerServer(srv, &podResourcesServer{answer: answer})

	stop := make(chan string, 2)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() { stop <- "signal " + (<-signals).String() }()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop <- "end of stdin"
	}()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(lis) }()

	printLine("LISTENING %s", *socket)

	exitStatus := exitOK
	select {
	case why := <-stop:
		fmt.Fprintf(os.Stderr, "gpudaemon-interop podresources: stopping (%s)\n", why)
	case err := <-serveErr:
		fmt.Fprintf(os.Stderr, "gpudaemon-interop podresources: serve: %v\n", err)
		exitStatus = exitFail
	}
	srv.Stop()
	return exitStatus
}
