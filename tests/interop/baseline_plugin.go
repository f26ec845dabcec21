package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "gpudaemon/interop/v1beta1"
)

// The baseline-plugin command serves a DevicePlugin written with grpc-go that
// answers like GpuDaemon's plugin, so the load command can measure both the
// same way. It does not register anywhere.

// controlDevices are the NVIDIA device nodes every GPU container needs.
var controlDevices = []string{"/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools"}

type baselinePlugin struct {
	pb.UnimplementedDevicePluginServer
	devices []*pb.Device
	index   map[string]int // device ID -> minor number
}

func newBaselinePlugin(n int) *baselinePlugin {
	p := &baselinePlugin{index: make(map[string]int, n)}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("GPU-base-%d", i)
		p.index[id] = i
		p.devices = append(p.devices, &pb.Device{
			ID:       id,
			Health:   healthy,
			Topology: &pb.TopologyInfo{Nodes: []*pb.NUMANode{{ID: int64(i * 2 / n)}}},
		})
	}
	return p
}

func (p *baselinePlugin) GetDevicePluginOptions(context.Context, *pb.Empty) (*pb.DevicePluginOptions, error) {
	return &pb.DevicePluginOptions{GetPreferredAllocationAvailable: true}, nil
}

func (p *baselinePlugin) ListAndWatch(_ *pb.Empty, stream pb.DevicePlugin_ListAndWatchServer) error {
	if err := stream.Send(&pb.ListAndWatchResponse{Devices: p.devices}); err != nil {
		return err
	}
	// The devices never change: hold the stream until the client goes away
	// or the server stops.
	<-stream.Context().Done()
	return nil
}

func (p *baselinePlugin) Allocate(_ context.Context, req *pb.AllocateRequest) (*pb.AllocateResponse, error) {
	resp := &pb.AllocateResponse{ContainerResponses: make([]*pb.ContainerAllocateResponse, 0, len(req.GetContainerRequests()))}
	for i, c := range req.GetContainerRequests() {
		ids := c.GetDevicesIds()
		if len(ids) == 0 {
			return nil, status.Errorf(codes.InvalidArgument, "container request %d asks for no devices", i)
		}
		specs := make([]*pb.DeviceSpec, 0, len(ids)+len(controlDevices))
		for _, id := range ids {
			minor, ok := p.index[id]
			if !ok {
				return nil, status.Errorf(codes.InvalidArgument, "unknown device %s", id)
			}
			path := fmt.Sprintf("/dev/nvidia%d", minor)
			specs = append(specs, &pb.DeviceSpec{ContainerPath: path, HostPath: path, Permissions: "rw"})
		}
		for _, path := range controlDevices {
			specs = append(specs, &pb.DeviceSpec{ContainerPath: path, HostPath: path, Permissions: "rw"})
		}
		resp.ContainerResponses = append(resp.ContainerResponses, &pb.ContainerAllocateResponse{
			Envs:    map[string]string{visibleDevicesEnv: strings.Join(ids, ",")},
			Devices: specs,
		})
	}
	return resp, nil
}

// GetPreferredAllocation picks the devices that must be included, then the
// first available ones, up to the allocation size.
func (p *baselinePlugin) GetPreferredAllocation(_ context.Context, req *pb.PreferredAllocationRequest) (*pb.PreferredAllocationResponse, error) {
	resp := &pb.PreferredAllocationResponse{}
	for _, c := range req.GetContainerRequests() {
		size := int(c.GetAllocationSize())
		picked := make([]string, 0, size)
		seen := make(map[string]bool, size)
		for _, list := range [][]string{c.GetMustIncludeDeviceIDs(), c.GetAvailableDeviceIDs()} {
			for _, id := range list {
				if len(picked) < size && !seen[id] {
					seen[id] = true
					picked = append(picked, id)
				}
			}
		}
		resp.ContainerResponses = append(resp.ContainerResponses, &pb.ContainerPreferredAllocationResponse{DeviceIDs: picked})
	}
	return resp, nil
}

func (p *baselinePlugin) PreStartContainer(context.Context, *pb.PreStartContainerRequest) (*pb.PreStartContainerResponse, error) {
	return &pb.PreStartContainerResponse{}, nil
}

func runBaselinePlugin(args []string) int {
	fs := newFlagSet("baseline-plugin")
	socket := fs.String("socket", "", "unix socket to serve the DevicePlugin service on (required)")
	devices := fs.Int("devices", 8, "number of devices to advertise")
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	if *socket == "" {
		return usageError("baseline-plugin", "--socket is required")
	}
	if *devices < 1 {
		return usageError("baseline-plugin", "--devices must be at least 1")
	}

	if err := os.Remove(*socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "gpudaemon-interop baseline-plugin: removing stale socket: %v\n", err)
		return exitFail
	}
	lis, err := net.Listen("unix", *socket)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gpudaemon-interop baseline-plugin: %v\n", err)
		return exitFail
	}
	if err := os.Chmod(*socket, 0o600); err != nil {
		lis.Close()
		fmt.Fprintf(os.Stderr, "gpudaemon-interop baseline-plugin: %v\n", err)
		return exitFail
	}
	srv := grpc.NewServer()
	pb.RegisterDevicePluginServer(srv, newBaselinePlugin(*devices))

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(lis) }()
	printLine("LISTENING %s", *socket)

	exitStatus := exitOK
	select {
	case sig := <-signals:
		fmt.Fprintf(os.Stderr, "gpudaemon-interop baseline-plugin: stopping (signal %s)\n", sig)
	case err := <-serveErr:
		fmt.Fprintf(os.Stderr, "gpudaemon-interop baseline-plugin: serve: %v\n", err)
		exitStatus = exitFail
	}
	// Stop also closes the listener, which removes the socket file.
	srv.Stop()
	return exitStatus
}
