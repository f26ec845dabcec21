package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "gpudaemon/interop/v1beta1"
)

// checkTimeout bounds each check, so a hang is reported as a failure rather
// than leaving the process stuck.
const checkTimeout = 5 * time.Second

// Agreed behaviour of the server under test (see the individual checks).
const (
	largeRequestIDs   = 20000
	tooLargeIDBytes   = 5 << 20  // above the server's 4 MiB receive limit
	maxClientSendSize = 16 << 20 // so grpc-go itself does not refuse to send it
	// So that a server which wrongly accepts and echoes the request is not
	// caught by grpc-go's own 4 MiB receive limit (also RESOURCE_EXHAUSTED).
	maxClientRecvSize = 16 << 20
	deadlineTimeout   = 300 * time.Millisecond
	streamMessages    = 3
	// How long the stream must stay open after its last expected message.
	streamQuietPeriod = 300 * time.Millisecond
	unknownMethod     = "/v1beta1.DevicePlugin/NoSuchMethod"
	badDeviceID       = "bad-ünï%code"
)

var wantAllocateErrorMessage = fmt.Sprintf("unknown device %q: 100%% not found", badDeviceID)

// checkEnv is what every check gets: the shared connection and a client for
// the DevicePlugin service on it.
type checkEnv struct {
	conn   *unixConn
	plugin pb.DevicePluginClient
	// dialsAfterConnect is the dial count once the first connection was up.
	dialsAfterConnect int64
}

type clientCheck struct {
	name string
	run  func(ctx context.Context, env *checkEnv) error
}

// clientChecks run in this order on one connection; after-errors must stay last.
var clientChecks = []clientCheck{
	{"options", checkOptions},
	{"allocate-echo", checkAllocateEcho},
	{"allocate-large", checkAllocateLarge},
	{"allocate-error", checkAllocateError},
	{"too-large", checkTooLarge},
	{"stream", checkStream},
	{"deadline", checkDeadline},
	{"unknown-method", checkUnknownMethod},
	{"handler-exception", checkHandlerException},
	{"after-errors", checkAfterErrors},
}

func runClient(args []string) int {
	fs := newFlagSet("client")
	socket := fs.String("socket", "", "unix socket of the DevicePlugin server (required)")
	authority := fs.String("authority", "localhost", "value of :authority; empty lets grpc-go choose (the socket path)")
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	if *socket == "" {
		fmt.Fprintln(os.Stderr, "gpudaemon-interop client: --socket is required")
		return exitUsage
	}

	conn, err := dialUnix(*socket, *authority)
	if err != nil {
		fmt.Printf("FAIL dial: %s: %s\n", *socket, oneLine(err.Error()))
		fmt.Println("interop client: 0 passed, 1 failed")
		return exitFail
	}
	defer conn.Close()

	env := &checkEnv{
		conn:              conn,
		plugin:            pb.NewDevicePluginClient(conn),
		dialsAfterConnect: conn.Dials(),
	}
	passed, failed := 0, 0
	for _, c := range clientChecks {
		if err := runCheck(c, env); err != nil {
			failed++
			fmt.Printf("FAIL %s: %s\n", c.name, oneLine(err.Error()))
		} else {
			passed++
			fmt.Printf("PASS %s\n", c.name)
		}
	}
	fmt.Printf("interop client: %d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return exitFail
	}
	return exitOK
}

func runCheck(c clientCheck, env *checkEnv) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return c.run(ctx, env)
}

// oneLine keeps a failure reason on its output line.
func oneLine(s string) string {
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
}

// expectCode checks that err is a gRPC status with the wanted code and returns
// that status.
func expectCode(err error, want codes.Code) (*status.Status, error) {
	if err == nil {
		return nil, fmt.Errorf("call succeeded, want %s", want)
	}
	st, ok := status.FromError(err)
	if !ok {
		return nil, fmt.Errorf("not a gRPC status error (%v), want %s", err, want)
	}
	if st.Code() != want {
		return nil, fmt.Errorf("got %s (message %q), want %s", st.Code(), st.Message(), want)
	}
	return st, nil
}

// rstStatusPrefix starts the message of the status grpc-go makes up when the
// server resets a stream (RST_STREAM) instead of ending it with a grpc-status
// trailer. Such a status can carry the wanted code by accident (for instance
// FLOW_CONTROL_ERROR and ENHANCE_YOUR_CALM both become RESOURCE_EXHAUSTED).
const rstStatusPrefix = "stream terminated by RST_STREAM"

// expectServerStatus is expectCode for a status the server itself must send
// in its trailers.
func expectServerStatus(err error, want codes.Code) (*status.Status, error) {
	st, err := expectCode(err, want)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(st.Message(), rstStatusPrefix) {
		return nil, fmt.Errorf("server reset the stream instead of sending status %s in its trailers (%s)", want, st.Message())
	}
	return st, nil
}

func allocateOne(ids ...string) *pb.AllocateRequest {
	return &pb.AllocateRequest{
		ContainerRequests: []*pb.ContainerAllocateRequest{{DevicesIds: ids}},
	}
}

func singleContainer(resp *pb.AllocateResponse) (*pb.ContainerAllocateResponse, error) {
	if n := len(resp.GetContainerResponses()); n != 1 {
		return nil, fmt.Errorf("got %d container responses, want 1", n)
	}
	return resp.GetContainerResponses()[0], nil
}

func expectMapValue(what string, m map[string]string, key, want string) error {
	got, ok := m[key]
	if !ok {
		return fmt.Errorf("%s[%q] missing, want %q", what, key, want)
	}
	if got != want {
		return fmt.Errorf("%s[%q] = %q, want %q", what, key, got, want)
	}
	return nil
}

func expectOptions(opts *pb.DevicePluginOptions) error {
	if !opts.GetPreStartRequired() || !opts.GetGetPreferredAllocationAvailable() {
		return fmt.Errorf("got pre_start_required=%t get_preferred_allocation_available=%t, want both true",
			opts.GetPreStartRequired(), opts.GetGetPreferredAllocationAvailable())
	}
	return nil
}

// options: GetDevicePluginOptions returns both options set.
func checkOptions(ctx context.Context, env *checkEnv) error {
	opts, err := env.plugin.GetDevicePluginOptions(ctx, &pb.Empty{})
	if err != nil {
		return err
	}
	return expectOptions(opts)
}

// allocate-echo: the server echoes the requested IDs into one container
// response with a fixed device spec and annotation.
func checkAllocateEcho(ctx context.Context, env *checkEnv) error {
	resp, err := env.plugin.Allocate(ctx, allocateOne("GPU-a", "GPU-b"))
	if err != nil {
		return err
	}
	c, err := singleContainer(resp)
	if err != nil {
		return err
	}
	if err := expectMapValue("envs", c.GetEnvs(), "NVIDIA_VISIBLE_DEVICES", "GPU-a,GPU-b"); err != nil {
		return err
	}
	if n := len(c.GetDevices()); n != 1 {
		return fmt.Errorf("got %d device specs, want 1", n)
	}
	d := c.GetDevices()[0]
	if d.GetContainerPath() != "/dev/nvidia0" || d.GetHostPath() != "/dev/nvidia0" || d.GetPermissions() != "rw" {
		return fmt.Errorf("device spec = {container_path %q, host_path %q, permissions %q}, want {\"/dev/nvidia0\", \"/dev/nvidia0\", \"rw\"}",
			d.GetContainerPath(), d.GetHostPath(), d.GetPermissions())
	}
	return expectMapValue("annotations", c.GetAnnotations(), "interop", "yes")
}

// allocate-large: a request of a few hundred KiB, spread over many HTTP/2
// DATA frames, arrives whole.
func checkAllocateLarge(ctx context.Context, env *checkEnv) error {
	ids := make([]string, largeRequestIDs)
	for i := range ids {
		ids[i] = fmt.Sprintf("GPU-%05d", i)
	}
	resp, err := env.plugin.Allocate(ctx, allocateOne(ids...))
	if err != nil {
		return err
	}
	c, err := singleContainer(resp)
	if err != nil {
		return err
	}
	if err := expectMapValue("envs", c.GetEnvs(), "COUNT", fmt.Sprint(largeRequestIDs)); err != nil {
		return err
	}
	return expectMapValue("envs", c.GetEnvs(), "LAST", ids[len(ids)-1])
}

// allocate-error: a status message with non-ASCII characters and '%' survives
// the percent-encoding of grpc-message.
func checkAllocateError(ctx context.Context, env *checkEnv) error {
	_, err := env.plugin.Allocate(ctx, allocateOne(badDeviceID))
	st, err := expectServerStatus(err, codes.InvalidArgument)
	if err != nil {
		return err
	}
	if st.Message() != wantAllocateErrorMessage {
		return fmt.Errorf("message = %q, want %q", st.Message(), wantAllocateErrorMessage)
	}
	return nil
}

// too-large: a request above the server's receive limit is refused with
// RESOURCE_EXHAUSTED.
func checkTooLarge(ctx context.Context, env *checkEnv) error {
	_, err := env.plugin.Allocate(ctx, allocateOne(strings.Repeat("x", tooLargeIDBytes)),
		grpc.MaxCallSendMsgSize(maxClientSendSize), grpc.MaxCallRecvMsgSize(maxClientRecvSize))
	_, err = expectServerStatus(err, codes.ResourceExhausted)
	return err
}

// stream: ListAndWatch sends three growing device lists and then stays open
// until the client cancels.
func checkStream(ctx context.Context, env *checkEnv) error {
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := env.plugin.ListAndWatch(streamCtx, &pb.Empty{})
	if err != nil {
		return err
	}
	for i := 0; i < streamMessages; i++ {
		msg, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("message %d: %v", i+1, err)
		}
		if err := expectDeviceList(msg, i+1); err != nil {
			return fmt.Errorf("message %d: %v", i+1, err)
		}
	}

	// The stream must stay open: nothing more may arrive until we cancel.
	type recvResult struct {
		msg *pb.ListAndWatchResponse
		err error
	}
	results := make(chan recvResult, 1)
	go func() {
		msg, err := stream.Recv()
		results <- recvResult{msg, err}
	}()
	select {
	case r := <-results:
		if r.err == io.EOF {
			return errors.New("server ended the stream instead of keeping it open")
		}
		if r.err != nil {
			return fmt.Errorf("stream failed before the client cancelled: %v", r.err)
		}
		return fmt.Errorf("unexpected message %d with %d devices", streamMessages+1, len(r.msg.GetDevices()))
	case <-time.After(streamQuietPeriod):
	}

	cancel()
	select {
	case r := <-results:
		if r.err == nil {
			return errors.New("Recv returned a message after cancellation, want Canceled")
		}
		_, err := expectCode(r.err, codes.Canceled)
		return err
	case <-ctx.Done():
		return errors.New("Recv did not return after the client cancelled")
	}
}

func expectDeviceList(msg *pb.ListAndWatchResponse, want int) error {
	devices := msg.GetDevices()
	if len(devices) != want {
		return fmt.Errorf("got %d devices, want %d", len(devices), want)
	}
	for i, d := range devices {
		if id := fmt.Sprintf("GPU-%d", i); d.GetID() != id {
			return fmt.Errorf("device %d: ID %q, want %q", i, d.GetID(), id)
		}
		if d.GetHealth() != "Healthy" {
			return fmt.Errorf("device %d: health %q, want \"Healthy\"", i, d.GetHealth())
		}
		nodes := d.GetTopology().GetNodes()
		if len(nodes) != 1 {
			return fmt.Errorf("device %d: %d NUMA nodes, want 1", i, len(nodes))
		}
		if nodes[0].GetID() != int64(i) {
			return fmt.Errorf("device %d: NUMA node ID %d, want %d", i, nodes[0].GetID(), i)
		}
	}
	return nil
}

// deadline: the grpc-timeout header reaches the server, whose handler waits
// for it to expire.
func checkDeadline(ctx context.Context, env *checkEnv) error {
	callCtx, cancel := context.WithTimeout(ctx, deadlineTimeout)
	defer cancel()
	start := time.Now()
	_, err := env.plugin.PreStartContainer(callCtx, &pb.PreStartContainerRequest{DevicesIds: []string{"slow"}})
	elapsed := time.Since(start)
	if _, err := expectCode(err, codes.DeadlineExceeded); err != nil {
		return err
	}
	// Timers never fire early; a quicker answer came from the server itself.
	if elapsed < deadlineTimeout-10*time.Millisecond {
		return fmt.Errorf("failed after %v, before the %v deadline", elapsed, deadlineTimeout)
	}
	return nil
}

// unknown-method: a method the service does not have is UNIMPLEMENTED.
func checkUnknownMethod(ctx context.Context, env *checkEnv) error {
	err := env.conn.Invoke(ctx, unknownMethod, &pb.Empty{}, &pb.Empty{})
	_, err = expectServerStatus(err, codes.Unimplemented)
	return err
}

// handler-exception: a handler that throws gives INTERNAL with a one-line
// message and no stack trace.
func checkHandlerException(ctx context.Context, env *checkEnv) error {
	_, err := env.plugin.GetPreferredAllocation(ctx, &pb.PreferredAllocationRequest{
		ContainerRequests: []*pb.ContainerPreferredAllocationRequest{{
			AvailableDeviceIDs: []string{"GPU-0", "GPU-1"},
			AllocationSize:     1,
		}},
	})
	st, err := expectServerStatus(err, codes.Internal)
	if err != nil {
		return err
	}
	if strings.ContainsAny(st.Message(), "\r\n") {
		return fmt.Errorf("message spans several lines: %q", st.Message())
	}
	if strings.Contains(st.Message(), "   at ") {
		return fmt.Errorf("message carries a stack trace: %q", st.Message())
	}
	return nil
}

// after-errors: the connection that saw every check above still works, and
// grpc-go never had to reconnect.
func checkAfterErrors(ctx context.Context, env *checkEnv) error {
	opts, err := env.plugin.GetDevicePluginOptions(ctx, &pb.Empty{})
	if err != nil {
		return err
	}
	if err := expectOptions(opts); err != nil {
		return err
	}
	if dials := env.conn.Dials(); dials != env.dialsAfterConnect {
		return fmt.Errorf("grpc-go reconnected %d time(s): the first connection did not survive",
			dials-env.dialsAfterConnect)
	}
	return nil
}
