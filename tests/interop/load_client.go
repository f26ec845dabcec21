package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	pb "gpudaemon/interop/v1beta1"
)

// The load command measures Allocate the way the kubelet calls it: over one
// connection, one ContainerAllocateRequest per call, no call deadline.

// firstListTimeout bounds the wait for the first ListAndWatch message.
const firstListTimeout = 30 * time.Second

func runLoad(args []string) int {
	fs := newFlagSet("load")
	socket := fs.String("socket", "", "unix socket of the DevicePlugin server (required)")
	calls := fs.Int("calls", 100000, "measured Allocate calls")
	concurrency := fs.Int("concurrency", 1, "goroutines issuing calls, all on one connection")
	warmup := fs.Int("warmup", 1000, "unmeasured Allocate calls made first")
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	switch {
	case *socket == "":
		return usageError("load", "--socket is required")
	case *calls < 1:
		return usageError("load", "--calls must be at least 1")
	case *concurrency < 1:
		return usageError("load", "--concurrency must be at least 1")
	case *warmup < 0:
		return usageError("load", "--warmup must not be negative")
	}

	conn, err := dialUnix(*socket, "localhost")
	if err != nil {
		fmt.Fprintf(os.Stderr, "gpudaemon-interop load: dial %s: %v\n", *socket, err)
		return exitFail
	}
	defer conn.Close()
	client := pb.NewDevicePluginClient(conn)

	ids, err := firstHealthyIDs(client)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gpudaemon-interop load: %v\n", err)
		return exitFail
	}

	if *warmup > 0 {
		if r := allocateLoad(client, ids, *warmup, *concurrency); r.errors > 0 {
			fmt.Fprintf(os.Stderr, "gpudaemon-interop load: warm-up: %d of %d calls failed, first: %v\n",
				r.errors, *warmup, r.firstErr)
		}
	}
	r := allocateLoad(client, ids, *calls, *concurrency)
	sorted := sortDurations(r.latencies)
	seconds := r.elapsed.Seconds()
	fmt.Printf("ALLOCATE calls=%d concurrency=%d seconds=%.3f calls_per_s=%.1f p50_us=%.1f p99_us=%.1f p999_us=%.1f errors=%d\n",
		*calls, *concurrency, seconds, float64(*calls)/seconds,
		micros(percentile(sorted, 0.50)), micros(percentile(sorted, 0.99)), micros(percentile(sorted, 0.999)),
		r.errors)
	if r.errors > 0 {
		fmt.Fprintf(os.Stderr, "gpudaemon-interop load: %d calls failed, first: %v\n", r.errors, r.firstErr)
		return exitFail
	}
	return exitOK
}

// firstHealthyIDs reads the first ListAndWatch message and returns the IDs of
// its healthy devices; the stream is cancelled afterwards.
func firstHealthyIDs(client pb.DevicePluginClient) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), firstListTimeout)
	defer cancel()
	stream, err := client.ListAndWatch(ctx, &pb.Empty{})
	if err != nil {
		return nil, fmt.Errorf("ListAndWatch: %s", statusText(err))
	}
	msg, err := stream.Recv()
	if err != nil {
		return nil, fmt.Errorf("ListAndWatch: first message: %s", statusText(err))
	}
	var ids []string
	for _, d := range msg.GetDevices() {
		if d.GetHealth() == healthy {
			ids = append(ids, d.GetID())
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("the first ListAndWatch message has no healthy device (%d devices)", len(msg.GetDevices()))
	}
	return ids, nil
}

type loadResult struct {
	latencies []time.Duration
	elapsed   time.Duration
	errors    int64
	firstErr  error
}

// allocateLoad makes calls Allocate calls from concurrency goroutines sharing
// client's connection. Call i asks for ids[i % len(ids)].
func allocateLoad(client pb.DevicePluginClient, ids []string, calls, concurrency int) loadResult {
	var (
		next     int64 = -1
		failures int64
		errOnce  sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	perWorker := make([][]time.Duration, concurrency)
	ctx := context.Background()
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			local := make([]time.Duration, 0, calls/concurrency+1)
			for {
				i := atomic.AddInt64(&next, 1)
				if i >= int64(calls) {
					break
				}
				req := allocateOne(ids[i%int64(len(ids))])
				t := time.Now()
				resp, err := client.Allocate(ctx, req)
				local = append(local, time.Since(t))
				if err == nil && len(resp.GetContainerResponses()) != 1 {
					err = errors.New("response does not have exactly one container response")
				}
				if err != nil {
					atomic.AddInt64(&failures, 1)
					errOnce.Do(func() { firstErr = err })
				}
			}
			perWorker[w] = local
		}(w)
	}
	wg.Wait()
	r := loadResult{elapsed: time.Since(start), errors: failures, firstErr: firstErr}
	r.latencies = make([]time.Duration, 0, calls)
	for _, l := range perWorker {
		r.latencies = append(r.latencies, l...)
	}
	return r
}
