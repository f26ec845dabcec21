package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The counters command reads a few series from a /metrics page once and prints
// them on one line, so a benchmark can take the difference of a process's own
// counters (allocated bytes, collections, GC pause) around a load run.

// defaultCounterSeries are the runtime series GpuDaemon exports, read before
// and after each Allocate load round of the benchmark.
const defaultCounterSeries = "dotnet_gc_allocated_bytes_total,dotnet_gc_collections_total,dotnet_gc_pause_seconds_total,dotnet_jit_compilation_seconds_total,dotnet_jit_methods_total"

func runCounters(args []string) int {
	fs := newFlagSet("counters")
	url := fs.String("url", "", "the metrics URL, e.g. http://127.0.0.1:9400/metrics (required)")
	series := fs.String("series", defaultCounterSeries, "comma-separated series names; the samples of each name are summed over their labels")
	timeout := fs.Duration("timeout", 10*time.Second, "limit for the scrape")
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	names := splitNames(*series)
	switch {
	case *url == "":
		return usageError("counters", "--url is required")
	case len(names) == 0:
		return usageError("counters", "--series names no series")
	}
	r, err := newScraper(*url, false, *timeout).scrape()
	if err != nil {
		fmt.Fprintf(os.Stderr, "gpudaemon-interop counters: scraping %s: %v\n", *url, err)
		return exitFail
	}
	values, missing := seriesSums(r.text, names)
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "gpudaemon-interop counters: %s does not export %s\n", *url, strings.Join(missing, ", "))
		return exitFail
	}
	printLine("COUNTERS %s", formatSeries(names, values))
	return exitOK
}

// splitNames splits a comma-separated list, dropping empty entries.
func splitNames(list string) []string {
	var names []string
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return names
}

// seriesSums sums, for each wanted name, the values of its samples in a text
// exposition (any labels), and lists the names that have no sample.
func seriesSums(text []byte, names []string) (map[string]float64, []string) {
	wanted := make(map[string]bool, len(names))
	for _, n := range names {
		wanted[n] = true
	}
	sums := make(map[string]float64, len(names))
	seen := make(map[string]bool, len(names))
	for _, line := range strings.Split(string(text), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest := line, ""
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		if !wanted[name] {
			continue
		}
		if strings.HasPrefix(rest, "{") {
			end := strings.LastIndex(rest, "}")
			if end < 0 {
				continue
			}
			rest = rest[end+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		sums[name] += v
		seen[name] = true
	}
	var missing []string
	for _, n := range names {
		if !seen[n] {
			missing = append(missing, n)
		}
	}
	sort.Strings(missing)
	return sums, missing
}

// formatSeries writes name=value pairs in the order of names.
func formatSeries(names []string, values map[string]float64) string {
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, n+"="+strconv.FormatFloat(values[n], 'f', -1, 64))
	}
	return strings.Join(parts, " ")
}

// waitForSeries scrapes every 20 ms until every name has a sample, within limit.
func waitForSeries(url string, names []string, limit time.Duration) (map[string]float64, error) {
	s := newScraper(url, false, limit)
	// Closed here, so the plugin's port is not left in TIME_WAIT by its own close when it is stopped.
	defer s.client.CloseIdleConnections()
	var values map[string]float64
	err := scrapeUntil(s, 20*time.Millisecond, limit, func(text []byte) (bool, string) {
		var missing []string
		values, missing = seriesSums(text, names)
		return len(missing) == 0, "missing " + strings.Join(missing, ", ")
	})
	if err != nil {
		return nil, fmt.Errorf("%s did not export every series within %s (%s)", url, limit, err)
	}
	return values, nil
}
