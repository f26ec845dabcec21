package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"google.golang.org/grpc"

	pb "gpudaemon/interop/v1beta1"
)

// The execreg command measures a plugin's start-up: with the kubelet's
// Registration service already listening, it starts the plugin process and
// times how long it takes until a registration is accepted (Register arrived
// and, as the kubelet does inside it, GetDevicePluginOptions on the plugin's
// own socket answered). Then it stops the plugin and starts it again.

// execStopTimeout is how long a plugin gets to exit after SIGTERM.
const execStopTimeout = 10 * time.Second

// timedRegistrar wraps the emulator's registrar, noting when each Register
// call arrived.
type timedRegistrar struct {
	*registrar
	arrived chan time.Time
}

func (r *timedRegistrar) Register(ctx context.Context, req *pb.RegisterRequest) (*pb.Empty, error) {
	select {
	case r.arrived <- time.Now():
	default:
	}
	return r.registrar.Register(ctx, req)
}

func runExecRegister(args []string) int {
	fs := newFlagSet("execreg")
	dir := fs.String("dir", "", "device-plugin directory to serve kubelet.sock in (required; created if missing)")
	resource := fs.String("resource", "nvidia.com/gpu", "resource name the plugin must register")
	rounds := fs.Int("rounds", 10, "plugin starts to measure")
	timeout := fs.Duration("timeout", 30*time.Second, "limit on each start")
	logPath := fs.String("log", "", "append the plugin's stdout and stderr to this file (default: discard)")
	metricsURL := fs.String("metrics-url", "", "after each registration, scrape this URL until it has every --metrics-series and print them (METRICS lines)")
	metricsSeries := fs.String("metrics-series", "gpudaemon_first_registration_seconds,gpudaemon_first_registration_jit_seconds,gpudaemon_first_registration_jitted_methods", "comma-separated series read with --metrics-url")
	if st, ok := parseFlags(fs, splitCommand(args)); !ok {
		return st
	}
	command := commandAfterDashes(args)
	switch {
	case *dir == "":
		return usageError("execreg", "--dir is required")
	case *rounds < 1:
		return usageError("execreg", "--rounds must be at least 1")
	case *timeout <= 0:
		return usageError("execreg", "--timeout must be positive")
	case len(command) == 0:
		return usageError("execreg", "give the plugin's command after --")
	case *metricsURL != "" && len(splitNames(*metricsSeries)) == 0:
		return usageError("execreg", "--metrics-series names no series")
	}
	var metrics *metricsProbe
	if *metricsURL != "" {
		metrics = &metricsProbe{url: *metricsURL, names: splitNames(*metricsSeries), round: 0}
	}

	var logFile *os.File
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gpudaemon-interop execreg: %v\n", err)
			return exitFail
		}
		defer f.Close()
		logFile = f
	}

	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "gpudaemon-interop execreg: %v\n", err)
		return exitFail
	}
	if _, err := removeSockets(*dir); err != nil {
		fmt.Fprintf(os.Stderr, "gpudaemon-interop execreg: %v\n", err)
		return exitFail
	}
	kubeletSocket := filepath.Join(*dir, kubeletSocketName)
	lis, err := net.Listen("unix", kubeletSocket)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gpudaemon-interop execreg: %v\n", err)
		return exitFail
	}
	reg := &timedRegistrar{registrar: newRegistrar(*dir, *timeout), arrived: make(chan time.Time, 1)}
	srv := grpc.NewServer()
	pb.RegisterRegistrationServer(srv, reg)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	printLine("LISTENING %s", kubeletSocket)

	var arrivals, accepted []time.Duration
	status := exitOK
	for i := 1; i <= *rounds; i++ {
		if metrics != nil {
			metrics.round = i
		}
		arrival, registered, err := execOnce(command, logFile, reg, *resource, *timeout, metrics)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gpudaemon-interop execreg: round %d: %v\n", i, err)
			status = exitFail
			break
		}
		printLine("ROUND %d register_arrived_ms=%.1f registered_ms=%.1f", i, millis(arrival), millis(registered))
		arrivals = append(arrivals, arrival)
		accepted = append(accepted, registered)
	}
	printLatencies("EXEC_REGISTER_ARRIVED_MS", arrivals)
	printLatencies("EXEC_REGISTERED_MS", accepted)
	return status
}

// execOnce starts the plugin, waits for its registration and stops it again.
func execOnce(command []string, logFile *os.File, reg *timedRegistrar, resource string, limit time.Duration, metrics *metricsProbe) (arrival, registered time.Duration, err error) {
	// Forget anything left from an earlier round.
	drain(reg)

	cmd := exec.Command(command[0], command[1:]...)
	if logFile != nil {
		cmd.Stdout, cmd.Stderr = logFile, logFile
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer stopProcess(cmd, exited)

	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	var arrivedAt time.Time
	for {
		select {
		case t := <-reg.arrived:
			if arrivedAt.IsZero() {
				arrivedAt = t
			}
		case s := <-reg.accepted:
			s.close()
			if s.resource != resource {
				continue
			}
			if arrivedAt.IsZero() {
				// The arrival note and the acceptance raced; take the note if it is there.
				select {
				case arrivedAt = <-reg.arrived:
				default:
					arrivedAt = s.registered
				}
			}
			if metrics != nil {
				// The plugin notes its registration once Register returns, just after this point.
				values, err := waitForSeries(metrics.url, metrics.names, limit)
				if err != nil {
					return 0, 0, err
				}
				printLine("METRICS round=%d %s", metrics.round, formatSeries(metrics.names, values))
			}
			return arrivedAt.Sub(start), s.registered.Sub(start), nil
		case err := <-exited:
			exited <- err // for stopProcess
			return 0, 0, fmt.Errorf("the plugin exited before registering: %v", err)
		case <-deadline.C:
			why := fmt.Sprintf("no registration for %s within %s", resource, limit)
			if r := reg.lastRejection(); r != "" {
				why += "; last refused: " + r
			}
			return 0, 0, errors.New(why)
		}
	}
}

// metricsProbe names the page and series execreg reads from each started plugin.
type metricsProbe struct {
	url   string
	names []string
	round int
}

func drain(reg *timedRegistrar) {
	for {
		select {
		case <-reg.arrived:
		case s := <-reg.accepted:
			s.close()
		default:
			return
		}
	}
}

// stopProcess sends SIGTERM and waits for the exit, killing the process if it
// takes longer than execStopTimeout.
func stopProcess(cmd *exec.Cmd, exited chan error) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(execStopTimeout):
		fmt.Fprintf(os.Stderr, "gpudaemon-interop execreg: pid %d ignored SIGTERM for %s; killing it\n", cmd.Process.Pid, execStopTimeout)
		_ = cmd.Process.Kill()
		<-exited
	}
}

// splitCommand returns the flags before a "--" argument.
func splitCommand(args []string) []string {
	for i, a := range args {
		if a == "--" {
			return args[:i]
		}
	}
	return args
}

// commandAfterDashes returns what follows the first "--" argument.
func commandAfterDashes(args []string) []string {
	for i, a := range args {
		if a == "--" {
			return args[i+1:]
		}
	}
	return nil
}
