package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "gpudaemon/interop/v1beta1"
)

// apiVersion is the only device-plugin API version the kubelet side accepts.
const apiVersion = "v1beta1"

// stdoutMu keeps the lines the server prints whole; the test reading stdout
// waits for them.
var stdoutMu sync.Mutex

func printLine(format string, args ...interface{}) {
	stdoutMu.Lock()
	defer stdoutMu.Unlock()
	fmt.Fprintf(os.Stdout, format+"\n", args...)
	os.Stdout.Sync() // unbuffered already; harmless where stdout is a pipe
}

// registrationServer plays the kubelet's side of plugin registration.
type registrationServer struct {
	pb.UnimplementedRegistrationServer
}

func (registrationServer) Register(_ context.Context, req *pb.RegisterRequest) (*pb.Empty, error) {
	if req.GetVersion() != apiVersion {
		return nil, status.Errorf(codes.InvalidArgument, "unsupported version %s", req.GetVersion())
	}
	if !strings.Contains(req.GetResourceName(), "/") {
		return nil, status.Errorf(codes.InvalidArgument, "invalid resource name %s", req.GetResourceName())
	}
	printLine("REGISTERED %s %s pre_start=%t preferred=%t",
		req.GetEndpoint(), req.GetResourceName(),
		req.GetOptions().GetPreStartRequired(), req.GetOptions().GetGetPreferredAllocationAvailable())
	return &pb.Empty{}, nil
}

func runServer(args []string) int {
	fs := newFlagSet("server")
	socket := fs.String("socket", "", "unix socket to serve the Registration service on (required)")
	watchStdin := fs.Bool("watch-stdin", true, "exit when stdin reaches end of file")
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	if *socket == "" {
		fmt.Fprintln(os.Stderr, "gpudaemon-interop server: --socket is required")
		return exitUsage
	}

	if err := os.Remove(*socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "gpudaemon-interop server: removing stale socket: %v\n", err)
		return exitFail
	}
	lis, err := net.Listen("unix", *socket)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gpudaemon-interop server: %v\n", err)
		return exitFail
	}
	// Closing the listener (in Stop) also removes the socket file.
	srv := grpc.NewServer()
	pb.RegisterRegistrationServer(srv, registrationServer{})

	stop := make(chan string, 3)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() { stop <- "signal " + (<-signals).String() }()
	if *watchStdin {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop <- "end of stdin"
		}()
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(lis) }()

	printLine("LISTENING %s", *socket)

	exitStatus := exitOK
	select {
	case why := <-stop:
		fmt.Fprintf(os.Stderr, "gpudaemon-interop server: stopping (%s)\n", why)
	case err := <-serveErr:
		fmt.Fprintf(os.Stderr, "gpudaemon-interop server: serve: %v\n", err)
		exitStatus = exitFail
	}
	srv.Stop()
	return exitStatus
}
