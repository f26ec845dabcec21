package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	pb "gpudaemon/interop/v1beta1"
)

// The faultlat command measures how long a health fault takes to reach the
// kubelet: it watches ListAndWatch on a plugin that runs on a simulation
// scenario file, flips one GPU's "healthy" field in that file and times the
// moment the stream shows the device Unhealthy (and, on the way back,
// Healthy again).

func runFaultLatency(args []string) int {
	fs := newFlagSet("faultlat")
	socket := fs.String("socket", "", "unix socket of the DevicePlugin server (required)")
	scenario := fs.String("scenario", "", "simulation scenario file the plugin runs on (required; rewritten in place)")
	uuid := fs.String("uuid", "", "GPU uuid to fault; also its device ID on ListAndWatch (required)")
	rounds := fs.Int("rounds", 20, "fault/recovery rounds to measure")
	timeout := fs.Duration("timeout", 10*time.Second, "limit on each transition")
	pause := fs.Duration("pause", 50*time.Millisecond, "quiet time before each edit")
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	switch {
	case *socket == "":
		return usageError("faultlat", "--socket is required")
	case *scenario == "":
		return usageError("faultlat", "--scenario is required")
	case *uuid == "":
		return usageError("faultlat", "--uuid is required")
	case *rounds < 1:
		return usageError("faultlat", "--rounds must be at least 1")
	case *timeout <= 0:
		return usageError("faultlat", "--timeout must be positive")
	case *pause < 0:
		return usageError("faultlat", "--pause must not be negative")
	}

	doc, err := loadScenario(*scenario)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gpudaemon-interop faultlat: %v\n", err)
		return exitFail
	}
	gpu, err := doc.gpu(*uuid)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gpudaemon-interop faultlat: %v\n", err)
		return exitFail
	}

	conn, err := dialUnix(*socket, "localhost")
	if err != nil {
		fmt.Fprintf(os.Stderr, "gpudaemon-interop faultlat: dial %s: %v\n", *socket, err)
		return exitFail
	}
	defer conn.Close()
	w := newHealthWatch(pb.NewDevicePluginClient(conn), *uuid)
	defer w.stop()

	// Start from a healthy GPU, whatever the file said.
	gpu["healthy"] = true
	if err := doc.save(); err != nil {
		fmt.Fprintf(os.Stderr, "gpudaemon-interop faultlat: %v\n", err)
		return exitFail
	}
	if _, err := w.waitFor(healthy, *timeout); err != nil {
		fmt.Fprintf(os.Stderr, "gpudaemon-interop faultlat: before the first round: %v\n", err)
		return exitFail
	}

	var faults, recoveries []time.Duration
	for i := 1; i <= *rounds; i++ {
		for _, leg := range []struct {
			healthy bool
			want    string
			into    *[]time.Duration
		}{{false, unhealthy, &faults}, {true, healthy, &recoveries}} {
			time.Sleep(*pause)
			gpu["healthy"] = leg.healthy
			start, err := doc.saveTimed()
			if err == nil {
				var seen time.Time
				seen, err = w.waitFor(leg.want, *timeout)
				if err == nil {
					*leg.into = append(*leg.into, seen.Sub(start))
					continue
				}
			}
			fmt.Fprintf(os.Stderr, "gpudaemon-interop faultlat: round %d, healthy=%t: %v\n", i, leg.healthy, err)
			printLatencies("FAULT_MS", faults)
			printLatencies("RECOVER_MS", recoveries)
			return exitFail
		}
	}
	printLatencies("FAULT_MS", faults)
	printLatencies("RECOVER_MS", recoveries)
	return exitOK
}

const unhealthy = "Unhealthy"

func printLatencies(label string, d []time.Duration) {
	if len(d) == 0 {
		printLine("%s n=0 p50=n/a p99=n/a max=n/a", label)
		return
	}
	sorted := sortDurations(append([]time.Duration(nil), d...))
	printLine("%s n=%d p50=%.1f p99=%.1f max=%.1f", label, len(sorted),
		millis(percentile(sorted, 0.50)), millis(percentile(sorted, 0.99)), millis(sorted[len(sorted)-1]))
}

// scenarioDoc is a scenario file held as generic JSON, so fields this program
// does not know survive the rewrite. The file must be plain JSON (no comments).
type scenarioDoc struct {
	path string
	root map[string]interface{}
}

func loadScenario(path string) (*scenarioDoc, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	doc := &scenarioDoc{path: path}
	if err := json.Unmarshal(data, &doc.root); err != nil {
		return nil, fmt.Errorf("%s: %v (comments are not supported here)", path, err)
	}
	return doc, nil
}

func (d *scenarioDoc) gpu(uuid string) (map[string]interface{}, error) {
	gpus, _ := d.root["gpus"].([]interface{})
	for _, g := range gpus {
		if m, ok := g.(map[string]interface{}); ok && m["uuid"] == uuid {
			return m, nil
		}
	}
	return nil, fmt.Errorf("%s has no GPU with uuid %s", d.path, uuid)
}

func (d *scenarioDoc) save() error {
	_, err := d.saveTimed()
	return err
}

// saveTimed replaces the file atomically (write a temporary file next to it,
// then rename) and returns the time of the rename: the moment the plugin can
// first see the edit.
func (d *scenarioDoc) saveTimed() (time.Time, error) {
	data, err := json.MarshalIndent(d.root, "", "  ")
	if err != nil {
		return time.Time{}, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(d.path), ".faultlat-*.json")
	if err != nil {
		return time.Time{}, err
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return time.Time{}, err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return time.Time{}, err
	}
	start := time.Now()
	if err := os.Rename(tmp.Name(), d.path); err != nil {
		os.Remove(tmp.Name())
		return time.Time{}, err
	}
	return start, nil
}

// healthWatch follows one device's health on a ListAndWatch stream.
type healthWatch struct {
	cancel context.CancelFunc

	mu      sync.Mutex
	health  string    // latest health of the device, "" before the first message
	at      time.Time // when the message that set health arrived
	endErr  error
	changed chan struct{} // closed (and replaced) on every message or the end
}

func newHealthWatch(client pb.DevicePluginClient, id string) *healthWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &healthWatch{cancel: cancel, changed: make(chan struct{})}
	go func() {
		stream, err := client.ListAndWatch(ctx, &pb.Empty{})
		for err == nil {
			var msg *pb.ListAndWatchResponse
			msg, err = stream.Recv()
			if err != nil {
				break
			}
			now := time.Now()
			h := "missing"
			for _, dev := range msg.GetDevices() {
				if dev.GetID() == id {
					h = dev.GetHealth()
				}
			}
			w.mu.Lock()
			w.health, w.at = h, now
			w.notifyLocked()
			w.mu.Unlock()
		}
		w.mu.Lock()
		w.endErr = err
		w.notifyLocked()
		w.mu.Unlock()
	}()
	return w
}

func (w *healthWatch) notifyLocked() {
	close(w.changed)
	w.changed = make(chan struct{})
}

func (w *healthWatch) stop() { w.cancel() }

// waitFor waits until the device's latest health is want and returns when the
// message saying so arrived.
func (w *healthWatch) waitFor(want string, limit time.Duration) (time.Time, error) {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		h, at, endErr, changed := w.health, w.at, w.endErr, w.changed
		w.mu.Unlock()
		switch {
		case h == want:
			return at, nil
		case endErr != nil:
			return time.Time{}, fmt.Errorf("ListAndWatch ended: %s", statusText(endErr))
		}
		select {
		case <-changed:
		case <-deadline.C:
			if h == "" {
				return time.Time{}, errors.New("no ListAndWatch message within " + limit.String())
			}
			return time.Time{}, fmt.Errorf("device still %s after %s, want %s", h, limit, want)
		}
	}
}
