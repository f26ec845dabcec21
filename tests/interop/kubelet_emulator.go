package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "gpudaemon/interop/v1beta1"
)

// The kubelet command emulates the kubelet's side of the device-plugin
// protocol against a plugin that registers itself, then restarts the
// "kubelet" repeatedly and checks that the plugin comes back each time.

const (
	kubeletSocketName  = "kubelet.sock"
	checkpointFileName = "kubelet_internal_checkpoint"
	checkpointContent  = "gpudaemon-interop kubelet emulator: stand-in for the kubelet's checkpoint; must survive every restart\n"
	// unknownDeviceID is asked for in allocate-unknown; no plugin has it.
	unknownDeviceID = "GPU-does-not-exist"
	// preStartTimeout is the kubelet's limit on PreStartContainer.
	preStartTimeout   = 30 * time.Second
	visibleDevicesEnv = "NVIDIA_VISIBLE_DEVICES"
	healthy           = "Healthy"
)

// skipped is returned by a step that does not apply to this plugin.
type skipped string

func (s skipped) Error() string { return string(s) }

type emulator struct {
	dir           string
	resource      string
	expectDevices int
	allocSize     int
	restarts      int
	timeout       time.Duration
	// reregisterWithin, if positive, fails a restart the plugin took longer
	// than this to come back from.
	reregisterWithin time.Duration
	// restartPause is the quiet time before each restart, so a plugin that
	// registers twice is seen doing so.
	restartPause time.Duration

	kubeletSocket  string
	checkpointPath string
	checkpointData []byte

	reg *registrar   // the Registration service of the running "kubelet"
	srv *grpc.Server // serves reg on kubeletSocket

	current   *pluginSession   // the plugin's latest registration for resource
	others    []*pluginSession // registrations for other resources, kept like the kubelet would
	deviceIDs []string         // IDs of the first full device list, sorted
	chosen    []string         // the IDs allocated in the allocate step

	reregister []time.Duration
	passed     int
	failed     int
}

func runKubelet(args []string) int {
	fs := newFlagSet("kubelet")
	em := &emulator{}
	fs.StringVar(&em.dir, "dir", "", "device-plugin directory (required; created if missing)")
	fs.StringVar(&em.resource, "resource", "nvidia.com/gpu", "resource name the plugin must register")
	fs.IntVar(&em.expectDevices, "expect-devices", 0, "number of devices the plugin must advertise (0: any non-zero number)")
	fs.IntVar(&em.allocSize, "allocate", 1, "devices per allocation")
	fs.IntVar(&em.restarts, "restarts", 10, "kubelet restarts to perform")
	fs.DurationVar(&em.timeout, "timeout", 30*time.Second, "time limit of each step")
	fs.DurationVar(&em.restartPause, "restart-pause", 100*time.Millisecond, "quiet time before each restart")
	fs.DurationVar(&em.reregisterWithin, "reregister-within", 0, "fail a restart the plugin takes longer to register again after (0: only report the time)")
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	switch {
	case em.dir == "":
		return usageError("kubelet", "--dir is required")
	case em.expectDevices < 0:
		return usageError("kubelet", "--expect-devices must not be negative")
	case em.allocSize < 1:
		return usageError("kubelet", "--allocate must be at least 1")
	case em.expectDevices > 0 && em.allocSize > em.expectDevices:
		return usageError("kubelet", "--allocate must not exceed --expect-devices")
	case em.restarts < 0:
		return usageError("kubelet", "--restarts must not be negative")
	case em.timeout <= 0:
		return usageError("kubelet", "--timeout must be positive")
	case em.restartPause < 0:
		return usageError("kubelet", "--restart-pause must not be negative")
	case em.reregisterWithin < 0:
		return usageError("kubelet", "--reregister-within must not be negative")
	}
	return em.run()
}

func usageError(cmd, msg string) int {
	fmt.Fprintf(os.Stderr, "gpudaemon-interop %s: %s\n", cmd, msg)
	return exitUsage
}

func (em *emulator) run() int {
	em.kubeletSocket = filepath.Join(em.dir, kubeletSocketName)
	em.checkpointPath = filepath.Join(em.dir, checkpointFileName)
	defer em.shutdown()

	if err := em.start(); err != nil {
		em.fail("start", err)
		return em.finish()
	}
	printLine("LISTENING %s", em.kubeletSocket)

	if !em.step("register", em.stepRegister) || !em.step("list-and-watch", em.stepListAndWatch) {
		// Nothing further can be checked without a plugin and its devices.
		return em.finish()
	}
	em.step("preferred-allocation", em.stepPreferredAllocation)
	em.step("allocate", em.stepAllocate)
	em.step("allocate-unknown", em.stepAllocateUnknown)
	em.step("pre-start", em.stepPreStart)

	for i := 1; i <= em.restarts; i++ {
		time.Sleep(em.restartPause)
		took, fatal, err := em.restart()
		name := fmt.Sprintf("restart-%d", i)
		if err != nil {
			if fatal && i < em.restarts {
				err = fmt.Errorf("%v; the remaining %d restart(s) were not run", err, em.restarts-i)
			}
			em.fail(name, err)
			if fatal {
				break
			}
			continue
		}
		em.pass(name, fmt.Sprintf("re-registered in %dms", took.Milliseconds()))
	}

	em.step("checkpoint", em.stepCheckpoint)
	return em.finish()
}

func (em *emulator) pass(name, detail string) {
	em.passed++
	if detail != "" {
		printLine("PASS %s (%s)", name, detail)
	} else {
		printLine("PASS %s", name)
	}
}

func (em *emulator) fail(name string, err error) {
	em.failed++
	printLine("FAIL %s: %s", name, oneLine(err.Error()))
}

// step runs one check with the per-step time limit and reports it. It returns
// false if the step failed.
func (em *emulator) step(name string, run func(ctx context.Context) (string, error)) (ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), em.timeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			em.fail(name, fmt.Errorf("panic: %v", r))
			ok = false
		}
	}()
	detail, err := run(ctx)
	var skip skipped
	switch {
	case errors.As(err, &skip):
		printLine("SKIP %s: %s", name, oneLine(skip.Error()))
		return true
	case err != nil:
		em.fail(name, err)
		return false
	}
	em.pass(name, detail)
	return true
}

func (em *emulator) finish() int {
	if len(em.reregister) > 0 {
		sorted := sortDurations(append([]time.Duration(nil), em.reregister...))
		printLine("REREGISTER_MS p50=%.1f p99=%.1f max=%.1f",
			millis(percentile(sorted, 0.50)), millis(percentile(sorted, 0.99)), millis(sorted[len(sorted)-1]))
	} else {
		printLine("REREGISTER_MS p50=n/a p99=n/a max=n/a")
	}
	printLine("kubelet emulator: %d passed, %d failed", em.passed, em.failed)
	if em.failed > 0 {
		return exitFail
	}
	return exitOK
}

// start does what a starting kubelet does to the directory: remove every
// socket in it (leaving the checkpoint and any other file alone), then serve
// Registration on a fresh kubelet.sock.
func (em *emulator) start() error {
	if err := os.MkdirAll(em.dir, 0o755); err != nil {
		return err
	}
	if err := em.prepareCheckpoint(); err != nil {
		return err
	}
	return em.startKubelet()
}

func (em *emulator) startKubelet() error {
	if _, err := removeSockets(em.dir); err != nil {
		return err
	}
	lis, err := net.Listen("unix", em.kubeletSocket)
	if err != nil {
		return err
	}
	em.reg = newRegistrar(em.dir, em.timeout)
	em.srv = grpc.NewServer()
	pb.RegisterRegistrationServer(em.srv, em.reg)
	go func(srv *grpc.Server) { _ = srv.Serve(lis) }(em.srv)
	return nil
}

// stopKubelet is the kubelet going away: its Registration server stops (which
// also removes kubelet.sock) and registrations it had not yet taken up are
// dropped.
func (em *emulator) stopKubelet() {
	if em.srv == nil {
		return
	}
	em.srv.Stop()
	em.srv = nil
	for {
		select {
		case s := <-em.reg.accepted:
			s.close()
		default:
			return
		}
	}
}

func (em *emulator) shutdown() {
	em.stopKubelet()
	if em.current != nil {
		em.current.close()
	}
	for _, s := range em.others {
		s.close()
	}
}

// removeSockets deletes every unix socket directly in dir and returns their
// names. Other files are kept.
func removeSockets(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		if e.Type()&os.ModeSocket == 0 {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, err
		}
		removed = append(removed, e.Name())
	}
	return removed, nil
}

// prepareCheckpoint makes sure a checkpoint file exists and remembers its
// content, so the checkpoint step can prove nobody deleted or changed it.
func (em *emulator) prepareCheckpoint() error {
	fi, err := os.Lstat(em.checkpointPath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		em.checkpointData = []byte(checkpointContent)
		return os.WriteFile(em.checkpointPath, em.checkpointData, 0o644)
	case err != nil:
		return err
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s exists and is not a regular file", em.checkpointPath)
	}
	em.checkpointData, err = os.ReadFile(em.checkpointPath)
	return err
}

// waitRegistration waits for the running kubelet to accept a registration for
// the resource under test. Registrations for other resources are kept aside.
func (em *emulator) waitRegistration(ctx context.Context) (*pluginSession, error) {
	var otherNames []string
	for {
		select {
		case s := <-em.reg.accepted:
			if s.resource == em.resource {
				return s, nil
			}
			otherNames = append(otherNames, s.resource)
			em.others = append(em.others, s)
		case <-ctx.Done():
			why := fmt.Sprintf("no registration for %s within %s", em.resource, em.timeout)
			if len(otherNames) > 0 {
				why += fmt.Sprintf("; registered instead: %s", strings.Join(otherNames, ", "))
			}
			if r := em.reg.lastRejection(); r != "" {
				why += "; last refused: " + r
			}
			return nil, errors.New(why)
		}
	}
}

// takeNewerRegistrations makes the newest pending registration for the
// resource current, as the kubelet always keeps the newest one.
func (em *emulator) takeNewerRegistrations() {
	for {
		select {
		case s := <-em.reg.accepted:
			if s.resource != em.resource {
				em.others = append(em.others, s)
				continue
			}
			fmt.Fprintf(os.Stderr, "kubelet emulator: %s registered again (endpoint %s) without a restart\n", s.resource, s.endpoint)
			em.current.close()
			em.current = s
		default:
			return
		}
	}
}

func (em *emulator) stepRegister(ctx context.Context) (string, error) {
	s, err := em.waitRegistration(ctx)
	if err != nil {
		return "", err
	}
	em.current = s
	return fmt.Sprintf("endpoint %s, socket mode %04o, pre_start_required=%t, get_preferred_allocation_available=%t",
		s.endpoint, s.socketMode.Perm(), s.options.GetPreStartRequired(), s.options.GetGetPreferredAllocationAvailable()), nil
}

// checkDevices checks a device list: the wanted count (or IDs), unique
// non-empty IDs, all healthy, each with at least one NUMA node.
func checkDevices(devices []*pb.Device, wantCount int, wantIDs []string) error {
	if wantIDs != nil {
		wantCount = len(wantIDs)
	}
	if wantCount > 0 && len(devices) != wantCount {
		return fmt.Errorf("latest list has %d devices, want %d", len(devices), wantCount)
	}
	if len(devices) == 0 {
		return errors.New("latest list is empty")
	}
	seen := make(map[string]bool, len(devices))
	for i, d := range devices {
		id := d.GetID()
		switch {
		case id == "":
			return fmt.Errorf("device %d has an empty ID", i)
		case seen[id]:
			return fmt.Errorf("device ID %s is listed twice", id)
		case d.GetHealth() != healthy:
			return fmt.Errorf("device %s has health %q, want %q", id, d.GetHealth(), healthy)
		case len(d.GetTopology().GetNodes()) == 0:
			return fmt.Errorf("device %s has no NUMA topology", id)
		}
		for _, n := range d.GetTopology().GetNodes() {
			if n.GetID() < 0 {
				return fmt.Errorf("device %s has NUMA node %d", id, n.GetID())
			}
		}
		seen[id] = true
	}
	if wantIDs != nil {
		got := deviceIDs(devices)
		if !equalStrings(got, wantIDs) {
			return fmt.Errorf("latest list has IDs %v, want %v", got, wantIDs)
		}
	}
	return nil
}

// deviceIDs returns the sorted IDs of devices.
func deviceIDs(devices []*pb.Device) []string {
	ids := make([]string, 0, len(devices))
	for _, d := range devices {
		ids = append(ids, d.GetID())
	}
	sort.Strings(ids)
	return ids
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (em *emulator) stepListAndWatch(ctx context.Context) (string, error) {
	devices, err := em.current.waitDevices(ctx, func(d []*pb.Device) error {
		return checkDevices(d, em.expectDevices, nil)
	})
	if err != nil {
		return "", err
	}
	if em.allocSize > len(devices) {
		return "", fmt.Errorf("the plugin advertises %d devices, fewer than --allocate %d", len(devices), em.allocSize)
	}
	em.deviceIDs = deviceIDs(devices)
	numa := make(map[int64]int)
	for _, d := range devices {
		numa[d.GetTopology().GetNodes()[0].GetID()]++
	}
	nodes := make([]string, 0, len(numa))
	for n, c := range numa {
		nodes = append(nodes, fmt.Sprintf("%d:%d", n, c))
	}
	sort.Strings(nodes)
	return fmt.Sprintf("%d devices, all Healthy, devices per NUMA node %s", len(devices), strings.Join(nodes, " ")), nil
}

func (em *emulator) stepPreferredAllocation(ctx context.Context) (string, error) {
	if !em.current.options.GetGetPreferredAllocationAvailable() {
		return "", skipped("the plugin's options say get_preferred_allocation_available=false")
	}
	if len(em.deviceIDs) <= em.allocSize {
		return "", skipped(fmt.Sprintf("the kubelet asks only with more candidates than needed (%d devices, --allocate %d)",
			len(em.deviceIDs), em.allocSize))
	}
	resp, err := em.current.client.GetPreferredAllocation(ctx, &pb.PreferredAllocationRequest{
		ContainerRequests: []*pb.ContainerPreferredAllocationRequest{{
			AvailableDeviceIDs:   em.deviceIDs,
			MustIncludeDeviceIDs: []string{},
			AllocationSize:       int32(em.allocSize),
		}},
	})
	if err != nil {
		return "", fmt.Errorf("GetPreferredAllocation: %s", statusText(err))
	}
	if n := len(resp.GetContainerResponses()); n != 1 {
		return "", fmt.Errorf("got %d container responses, want 1", n)
	}
	got := resp.GetContainerResponses()[0].GetDeviceIDs()
	if len(got) != em.allocSize {
		return "", fmt.Errorf("got %d device IDs %v, want %d", len(got), got, em.allocSize)
	}
	available := make(map[string]bool, len(em.deviceIDs))
	for _, id := range em.deviceIDs {
		available[id] = true
	}
	seen := make(map[string]bool, len(got))
	for _, id := range got {
		if !available[id] {
			return "", fmt.Errorf("answer %v names %q, which was not available", got, id)
		}
		if seen[id] {
			return "", fmt.Errorf("answer %v names %q twice", got, id)
		}
		seen[id] = true
	}
	em.chosen = append([]string(nil), got...)
	return "preferred " + strings.Join(got, ","), nil
}

// allocationIDs are the IDs to allocate: the preferred ones if the plugin
// gave any, else the first --allocate devices.
func (em *emulator) allocationIDs() []string {
	if em.chosen != nil {
		return em.chosen
	}
	return em.deviceIDs[:em.allocSize]
}

// physicalIDs maps time-slicing replica IDs ("<id>::<k>") to the device they
// share, without duplicates and sorted: what the container runtime is told.
func physicalIDs(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if i := strings.Index(id, "::"); i >= 0 {
			id = id[:i]
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// checkAllocate asks for one container with ids, as the kubelet does at pod
// admission, and checks the one response the kubelet would use.
func checkAllocate(ctx context.Context, client pb.DevicePluginClient, ids []string) error {
	resp, err := client.Allocate(ctx, allocateOne(ids...))
	if err != nil {
		return fmt.Errorf("Allocate(%s): %s", strings.Join(ids, ","), statusText(err))
	}
	c, err := singleContainer(resp)
	if err != nil {
		return err
	}
	visible, ok := c.GetEnvs()[visibleDevicesEnv]
	if !ok {
		return fmt.Errorf("envs has no %s (envs %v)", visibleDevicesEnv, c.GetEnvs())
	}
	listed := strings.Split(visible, ",")
	sort.Strings(listed)
	want := physicalIDs(ids)
	if !equalStrings(listed, want) {
		return fmt.Errorf("%s=%q, want exactly %s", visibleDevicesEnv, visible, strings.Join(ids, ","))
	}
	if len(c.GetDevices()) == 0 {
		return errors.New("the response has no device specs")
	}
	for _, d := range c.GetDevices() {
		perm := d.GetPermissions()
		if d.GetContainerPath() == "" || d.GetHostPath() == "" || perm == "" || strings.Trim(perm, "rwm") != "" {
			return fmt.Errorf("invalid device spec container_path=%q host_path=%q permissions=%q",
				d.GetContainerPath(), d.GetHostPath(), perm)
		}
	}
	return nil
}

func (em *emulator) stepAllocate(ctx context.Context) (string, error) {
	ids := em.allocationIDs()
	if err := checkAllocate(ctx, em.current.client, ids); err != nil {
		return "", err
	}
	return "allocated " + strings.Join(ids, ","), nil
}

func (em *emulator) stepAllocateUnknown(ctx context.Context) (string, error) {
	_, err := em.current.client.Allocate(ctx, allocateOne(unknownDeviceID))
	if err == nil {
		return "", fmt.Errorf("Allocate(%s) succeeded, want InvalidArgument or FailedPrecondition", unknownDeviceID)
	}
	st, ok := status.FromError(err)
	if !ok {
		return "", fmt.Errorf("not a gRPC status: %v", err)
	}
	if st.Code() != codes.InvalidArgument && st.Code() != codes.FailedPrecondition {
		return "", fmt.Errorf("got %s (%q), want InvalidArgument or FailedPrecondition", st.Code(), st.Message())
	}
	if !strings.Contains(st.Message(), unknownDeviceID) {
		return "", fmt.Errorf("message %q does not name %s", st.Message(), unknownDeviceID)
	}
	return fmt.Sprintf("%s: %s", st.Code(), st.Message()), nil
}

func (em *emulator) stepPreStart(ctx context.Context) (string, error) {
	if !em.current.options.GetPreStartRequired() {
		return "", skipped("the plugin's options say pre_start_required=false")
	}
	ctx, cancel := context.WithTimeout(ctx, preStartTimeout)
	defer cancel()
	ids := em.allocationIDs()
	if _, err := em.current.client.PreStartContainer(ctx, &pb.PreStartContainerRequest{DevicesIds: ids}); err != nil {
		return "", fmt.Errorf("PreStartContainer(%s): %s", strings.Join(ids, ","), statusText(err))
	}
	return "", nil
}

func (em *emulator) stepCheckpoint(context.Context) (string, error) {
	data, err := os.ReadFile(em.checkpointPath)
	if err != nil {
		return "", fmt.Errorf("checkpoint file: %v", err)
	}
	if !bytes.Equal(data, em.checkpointData) {
		return "", errors.New("the checkpoint file's content changed")
	}
	return checkpointFileName + " untouched", nil
}

// restart restarts the kubelet once and follows the plugin back. It returns
// how long the plugin took to register again. fatal means the plugin did not
// come back, so there is nothing to restart from.
func (em *emulator) restart() (took time.Duration, fatal bool, err error) {
	em.takeNewerRegistrations()
	old := em.current
	var problems []string
	if ended, why := old.streamEnded(); ended {
		problems = append(problems, "ListAndWatch had already ended before the restart: "+statusText(why))
	}

	em.stopKubelet()
	if err := em.startKubelet(); err != nil {
		return 0, true, fmt.Errorf("restarting the kubelet: %v", err)
	}
	restarted := time.Now()

	ctx, cancel := context.WithTimeout(context.Background(), em.timeout)
	s, err := em.waitRegistration(ctx)
	cancel()
	if err != nil {
		return 0, true, err
	}
	took = s.registered.Sub(restarted)
	em.reregister = append(em.reregister, took)
	em.current = s
	if em.reregisterWithin > 0 && took > em.reregisterWithin {
		problems = append(problems, fmt.Sprintf("that is over the limit of %s", em.reregisterWithin))
	}

	// The plugin recreated its server, so the stream of the old one must end.
	ctx, cancel = context.WithTimeout(context.Background(), em.timeout)
	select {
	case <-old.ended:
	case <-ctx.Done():
		problems = append(problems, fmt.Sprintf("the old ListAndWatch stream was still open %s after the plugin registered again", em.timeout))
	}
	cancel()
	old.close()

	// Should the plugin have registered more than once meanwhile, the kubelet
	// would use the newest registration, so the checks move on to it.
	for {
		err := em.checkRegistration(em.current)
		if err == nil {
			break
		}
		checked := em.current
		em.takeNewerRegistrations()
		if em.current == checked {
			problems = append(problems, err.Error())
			break
		}
	}
	if len(problems) > 0 {
		return took, false, fmt.Errorf("re-registered in %dms, but %s", took.Milliseconds(), strings.Join(problems, "; "))
	}
	return took, false, nil
}

// checkRegistration checks a fresh registration: its ListAndWatch delivers the
// device IDs first seen, all healthy, and Allocate works on its connection.
func (em *emulator) checkRegistration(s *pluginSession) error {
	ctx, cancel := context.WithTimeout(context.Background(), em.timeout)
	defer cancel()
	if _, err := s.waitDevices(ctx, func(d []*pb.Device) error { return checkDevices(d, 0, em.deviceIDs) }); err != nil {
		return errors.New("new ListAndWatch: " + err.Error())
	}
	if err := checkAllocate(ctx, s.client, em.deviceIDs[:em.allocSize]); err != nil {
		return errors.New("Allocate on the new connection: " + err.Error())
	}
	return nil
}
