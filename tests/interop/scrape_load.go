package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// The scrape command measures /metrics the way Prometheus scrapes it: one
// kept-alive connection, one request at a time, gzip asked for by default.

// scrapeResult is one scrape: its status, the body as sent and its text.
type scrapeResult struct {
	wire []byte
	text []byte
}

type scraper struct {
	client *http.Client
	url    string
	gzip   bool
}

func newScraper(url string, useGzip bool, timeout time.Duration) *scraper {
	transport := &http.Transport{
		// The body is read as sent, so its size on the wire is known and decompression is timed too.
		DisableCompression:  true,
		MaxIdleConns:        1,
		MaxIdleConnsPerHost: 1,
	}
	return &scraper{client: &http.Client{Transport: transport, Timeout: timeout}, url: url, gzip: useGzip}
}

// scrape makes one GET and returns the body as sent and as text.
func (s *scraper) scrape() (scrapeResult, error) {
	req, err := http.NewRequest(http.MethodGet, s.url, nil)
	if err != nil {
		return scrapeResult{}, err
	}
	// Prometheus's own Accept header for the text format.
	req.Header.Set("Accept", "text/plain;version=0.0.4;q=0.9,*/*;q=0.1")
	req.Header.Set("User-Agent", "gpudaemon-interop-scrape")
	if s.gzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return scrapeResult{}, err
	}
	defer resp.Body.Close()
	wire, err := io.ReadAll(resp.Body)
	if err != nil {
		return scrapeResult{}, fmt.Errorf("reading the body: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		return scrapeResult{}, fmt.Errorf("status %d: %.200s", resp.StatusCode, wire)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		return scrapeResult{}, fmt.Errorf("Content-Type %q is not the text format", resp.Header.Get("Content-Type"))
	}
	text := wire
	switch enc := resp.Header.Get("Content-Encoding"); {
	case enc == "gzip":
		if !s.gzip {
			return scrapeResult{}, errors.New("gzip sent although not asked for")
		}
		zr, err := gzip.NewReader(bytes.NewReader(wire))
		if err != nil {
			return scrapeResult{}, fmt.Errorf("gzip: %v", err)
		}
		if text, err = io.ReadAll(zr); err != nil {
			return scrapeResult{}, fmt.Errorf("gzip: %v", err)
		}
	case enc != "" && enc != "identity":
		return scrapeResult{}, fmt.Errorf("unexpected Content-Encoding %q", enc)
	case s.gzip:
		return scrapeResult{}, errors.New("gzip asked for but not sent")
	}
	return scrapeResult{wire: wire, text: text}, nil
}

// exposition counts a text-format scrape: its samples and the distinct
// namespace/pod pairs its pod labels name.
func exposition(text []byte) (samples int, pods int) {
	seen := map[string]bool{}
	for _, line := range strings.Split(string(text), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		samples++
		pod, okPod := labelValue(line, "pod")
		ns, okNs := labelValue(line, "namespace")
		if okPod && okNs {
			seen[ns+"/"+pod] = true
		}
	}
	return samples, len(seen)
}

// labelValue returns the value of label name in one sample line (values are
// quoted; an escaped quote does not end them).
func labelValue(line, name string) (string, bool) {
	open := strings.IndexByte(line, '{')
	if open < 0 {
		return "", false
	}
	labels := line[open:]
	for _, sep := range []string{"{", ","} {
		i := strings.Index(labels, sep+name+`="`)
		if i < 0 {
			continue
		}
		rest := labels[i+len(sep)+len(name)+2:]
		var b strings.Builder
		for j := 0; j < len(rest); j++ {
			switch rest[j] {
			case '\\':
				if j+1 < len(rest) {
					j++
					b.WriteByte(rest[j])
				}
			case '"':
				return b.String(), true
			default:
				b.WriteByte(rest[j])
			}
		}
		return "", false
	}
	return "", false
}

func runScrape(args []string) int {
	fs := newFlagSet("scrape")
	url := fs.String("url", "", "the metrics URL, e.g. http://127.0.0.1:9400/metrics (required)")
	scrapes := fs.Int("scrapes", 1000, "measured scrapes")
	warmup := fs.Int("warmup", 100, "unmeasured scrapes made first")
	useGzip := fs.Bool("gzip", true, "ask for gzip, as Prometheus does")
	expectPods := fs.Int("expect-pods", -1, "first wait until the scrape names exactly this many pods (pod and namespace labels)")
	timeout := fs.Duration("timeout", 30*time.Second, "limit for one scrape, and for the wait of --expect-pods")
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	switch {
	case *url == "":
		return usageError("scrape", "--url is required")
	case *scrapes < 1:
		return usageError("scrape", "--scrapes must be at least 1")
	case *warmup < 0:
		return usageError("scrape", "--warmup must not be negative")
	}

	s := newScraper(*url, *useGzip, *timeout)
	if *expectPods >= 0 {
		if err := waitForPods(s, *expectPods, *timeout); err != nil {
			fmt.Fprintf(os.Stderr, "gpudaemon-interop scrape: %v\n", err)
			return exitFail
		}
	}
	for i := 0; i < *warmup; i++ {
		if _, err := s.scrape(); err != nil {
			fmt.Fprintf(os.Stderr, "gpudaemon-interop scrape: warm-up scrape %d: %v\n", i+1, err)
			return exitFail
		}
	}

	latencies := make([]time.Duration, 0, *scrapes)
	var last scrapeResult
	var failures int
	var firstErr error
	start := time.Now()
	for i := 0; i < *scrapes; i++ {
		t := time.Now()
		r, err := s.scrape()
		latencies = append(latencies, time.Since(t))
		if err != nil {
			failures++
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		last = r
	}
	elapsed := time.Since(start)
	sorted := sortDurations(latencies)
	samples, pods := exposition(last.text)
	fmt.Printf("SCRAPE scrapes=%d gzip=%t seconds=%.3f scrapes_per_s=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f bytes=%d wire_bytes=%d samples=%d pods=%d errors=%d\n",
		*scrapes, *useGzip, elapsed.Seconds(), float64(*scrapes)/elapsed.Seconds(),
		millis(percentile(sorted, 0.50)), millis(percentile(sorted, 0.99)), millis(sorted[len(sorted)-1]),
		len(last.text), len(last.wire), samples, pods, failures)
	if failures > 0 {
		fmt.Fprintf(os.Stderr, "gpudaemon-interop scrape: %d scrapes failed, first: %v\n", failures, firstErr)
		return exitFail
	}
	return exitOK
}

// waitForPods scrapes every 100 ms until a scrape names exactly want pods.
func waitForPods(s *scraper, want int, limit time.Duration) error {
	err := scrapeUntil(s, 100*time.Millisecond, limit, func(text []byte) (bool, string) {
		_, pods := exposition(text)
		return pods == want, fmt.Sprintf("the last scrape named %d pods", pods)
	})
	if err != nil {
		return fmt.Errorf("no scrape of %s named %d pods within %s (%s)", s.url, want, limit, err)
	}
	return nil
}

// scrapeUntil scrapes every period until done says a scrape's text is what the caller waits for, within
// limit; the error is the last reason it was not (done's own, or the scrape's failure).
func scrapeUntil(s *scraper, period, limit time.Duration, done func(text []byte) (bool, string)) error {
	deadline := time.Now().Add(limit)
	last := "no scrape answered"
	for {
		r, err := s.scrape()
		if err != nil {
			last = err.Error()
		} else {
			ok, why := done(r.text)
			if ok {
				return nil
			}
			last = why
		}
		if time.Now().After(deadline) {
			return errors.New(last)
		}
		time.Sleep(period)
	}
}
