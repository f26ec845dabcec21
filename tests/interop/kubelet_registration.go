package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "gpudaemon/interop/v1beta1"
)

// This file is the kubelet emulator's Registration service and its view of
// each registered plugin: the connection the kubelet opens to the plugin and
// the device list that plugin's ListAndWatch stream last delivered.

const (
	// dnsSubdomainMaxLen and resourceShortNameMaxLen are the kubelet's limits
	// on the two halves of an extended resource name.
	dnsSubdomainMaxLen      = 253
	dnsLabelMaxLen          = 63
	resourceShortNameMaxLen = 63
	// reservedResourceDomain is the namespace of the native resources. The
	// kubelet treats any name containing "kubernetes.io/" as native, so a
	// domain that merely ends in it is refused too.
	reservedResourceDomain = "kubernetes.io"
)

var (
	dnsLabelPattern          = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	resourceShortNamePattern = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
)

// validateResourceName accepts what the kubelet accepts as an extended
// resource name: "domain/name" with domain a lowercase DNS subdomain outside
// kubernetes.io and name a qualified-name part of at most 63 characters.
func validateResourceName(name string) error {
	if strings.Count(name, "/") != 1 {
		return fmt.Errorf("resource name %q is not of the form domain/name", name)
	}
	slash := strings.IndexByte(name, '/')
	domain, short := name[:slash], name[slash+1:]
	if domain == "" || len(domain) > dnsSubdomainMaxLen {
		return fmt.Errorf("resource name %q: domain must have 1 to %d characters", name, dnsSubdomainMaxLen)
	}
	for _, label := range strings.Split(domain, ".") {
		if len(label) > dnsLabelMaxLen || !dnsLabelPattern.MatchString(label) {
			return fmt.Errorf("resource name %q: domain %q is not a lowercase DNS subdomain", name, domain)
		}
	}
	if strings.HasSuffix(domain, reservedResourceDomain) {
		return fmt.Errorf("resource name %q is in the reserved %s namespace", name, reservedResourceDomain)
	}
	if len(short) > resourceShortNameMaxLen || !resourceShortNamePattern.MatchString(short) {
		return fmt.Errorf("resource name %q: name %q must be 1 to %d characters of [A-Za-z0-9-_.], starting and ending alphanumeric",
			name, short, resourceShortNameMaxLen)
	}
	return nil
}

// validateEndpoint requires a bare file name: the kubelet joins it to its
// device-plugin directory.
func validateEndpoint(endpoint string) error {
	if endpoint == "" || endpoint == "." || endpoint == ".." || strings.ContainsRune(endpoint, '/') ||
		strings.ContainsRune(endpoint, 0) {
		return fmt.Errorf("endpoint %q is not a bare file name in the device-plugin directory", endpoint)
	}
	return nil
}

func validateRegistration(req *pb.RegisterRequest) error {
	if req.GetVersion() != apiVersion {
		return fmt.Errorf("unsupported API version %q, the kubelet supports %q", req.GetVersion(), apiVersion)
	}
	if err := validateResourceName(req.GetResourceName()); err != nil {
		return err
	}
	return validateEndpoint(req.GetEndpoint())
}

// pluginSession is one accepted registration.
type pluginSession struct {
	resource string
	endpoint string
	options  *pb.DevicePluginOptions
	conn     *unixConn
	client   pb.DevicePluginClient
	// registered is when GetDevicePluginOptions answered inside Register,
	// i.e. when the registration became effective.
	registered time.Time
	// socketMode is the mode of the plugin's socket file at registration.
	socketMode os.FileMode

	stopWatch context.CancelFunc
	closeOnce sync.Once

	mu       sync.Mutex
	devices  []*pb.Device
	messages int
	endErr   error         // why ListAndWatch ended; valid once ended is closed
	changed  chan struct{} // closed (and replaced) whenever the state changes
	ended    chan struct{} // closed when ListAndWatch ends
}

func newPluginSession(req *pb.RegisterRequest, opts *pb.DevicePluginOptions, conn *unixConn) *pluginSession {
	return &pluginSession{
		resource: req.GetResourceName(),
		endpoint: req.GetEndpoint(),
		options:  opts,
		conn:     conn,
		client:   pb.NewDevicePluginClient(conn),
		changed:  make(chan struct{}),
		ended:    make(chan struct{}),
	}
}

// startWatch runs ListAndWatch in the background, as the kubelet does once a
// plugin is registered. Every message replaces the whole device list.
func (s *pluginSession) startWatch() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stopWatch = cancel
	go func() {
		stream, err := s.client.ListAndWatch(ctx, &pb.Empty{})
		if err != nil {
			s.finish(err)
			return
		}
		for {
			msg, err := stream.Recv()
			if err != nil {
				s.finish(err)
				return
			}
			s.mu.Lock()
			s.devices = msg.GetDevices()
			s.messages++
			s.notifyLocked()
			s.mu.Unlock()
		}
	}()
}

func (s *pluginSession) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *pluginSession) finish(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == io.EOF {
		err = errors.New("the plugin ended the stream (status OK)")
	}
	s.endErr = err
	close(s.ended)
	s.notifyLocked()
}

// streamEnded reports whether ListAndWatch has ended, and why.
func (s *pluginSession) streamEnded() (bool, error) {
	select {
	case <-s.ended:
		s.mu.Lock()
		defer s.mu.Unlock()
		return true, s.endErr
	default:
		return false, nil
	}
}

// waitDevices waits until the latest device list passes check. It gives up
// when ctx is done or the stream ends, saying why the last list did not pass.
func (s *pluginSession) waitDevices(ctx context.Context, check func([]*pb.Device) error) ([]*pb.Device, error) {
	for {
		s.mu.Lock()
		devices, messages, changed := s.devices, s.messages, s.changed
		s.mu.Unlock()

		var why error
		if messages == 0 {
			why = errors.New("no ListAndWatch message received")
		} else if why = check(devices); why == nil {
			return devices, nil
		}
		if ended, endErr := s.streamEnded(); ended {
			return nil, fmt.Errorf("ListAndWatch ended (%v); last state: %v", statusText(endErr), why)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("%v after %d ListAndWatch message(s) (%v)", why, messages, ctx.Err())
		}
	}
}

// close stops ListAndWatch and closes the connection, as the kubelet does when
// it drops a plugin.
func (s *pluginSession) close() {
	s.closeOnce.Do(func() {
		if s.stopWatch != nil {
			s.stopWatch()
		}
		s.conn.Close()
	})
}

// registrar serves the Registration service for the emulator. It does what
// the kubelet does inside Register: validate, dial the plugin's socket, fetch
// its options, and only then answer.
type registrar struct {
	pb.UnimplementedRegistrationServer
	dir         string
	callTimeout time.Duration
	accepted    chan *pluginSession

	mu       sync.Mutex
	rejected []string // reasons of refused registrations, newest last
}

// maxPendingRegistrations bounds how many accepted registrations may wait for
// the emulator's main loop; more than that means the plugin registers in a loop.
const maxPendingRegistrations = 64

func newRegistrar(dir string, callTimeout time.Duration) *registrar {
	return &registrar{
		dir:         dir,
		callTimeout: callTimeout,
		accepted:    make(chan *pluginSession, maxPendingRegistrations),
	}
}

func (r *registrar) Register(_ context.Context, req *pb.RegisterRequest) (*pb.Empty, error) {
	s, err := r.connect(req)
	if err != nil {
		reason := fmt.Sprintf("Register(resource=%q endpoint=%q version=%q): %v",
			req.GetResourceName(), req.GetEndpoint(), req.GetVersion(), err)
		r.mu.Lock()
		r.rejected = append(r.rejected, reason)
		r.mu.Unlock()
		fmt.Fprintf(os.Stderr, "kubelet emulator: refused %s\n", oneLine(reason))
		// The kubelet returns plain Go errors, which grpc-go sends as UNKNOWN.
		return nil, status.Error(codes.Unknown, err.Error())
	}
	s.startWatch()
	select {
	case r.accepted <- s:
	default:
		s.close()
		return nil, status.Error(codes.Unknown, "too many registrations")
	}
	return &pb.Empty{}, nil
}

func (r *registrar) connect(req *pb.RegisterRequest) (*pluginSession, error) {
	if err := validateRegistration(req); err != nil {
		return nil, err
	}
	path := filepath.Join(r.dir, req.GetEndpoint())
	conn, err := dialUnix(path, "localhost")
	if err != nil {
		return nil, fmt.Errorf("failed to dial device plugin at %s: %v", path, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.callTimeout)
	defer cancel()
	opts, err := pb.NewDevicePluginClient(conn).GetDevicePluginOptions(ctx, &pb.Empty{})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("GetDevicePluginOptions failed: %v", err)
	}
	s := newPluginSession(req, opts, conn)
	s.registered = time.Now()
	if fi, err := os.Lstat(path); err == nil {
		s.socketMode = fi.Mode()
	}
	return s, nil
}

// lastRejection returns the newest refusal reason, or "".
func (r *registrar) lastRejection() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.rejected) == 0 {
		return ""
	}
	return r.rejected[len(r.rejected)-1]
}

// statusText is a short form of a gRPC error for failure lines.
func statusText(err error) string {
	if err == nil {
		return "no error"
	}
	if st, ok := status.FromError(err); ok {
		return fmt.Sprintf("%s: %s", st.Code(), st.Message())
	}
	return err.Error()
}
