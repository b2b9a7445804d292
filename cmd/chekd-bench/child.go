package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// child is a `chekd run` process.
type child struct {
	cmd     *exec.Cmd
	started time.Time
	health  string
	logPath string
	exited  chan struct{}
	waitErr error
}

// startChild writes cfg to dir/config.yaml and starts `chekd run` on it;
// chekd's log goes to dir/chekd.log.
func startChild(bin, dir string, cfg []byte, listen string) (*child, error) {
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		return nil, fmt.Errorf("chekd-bench: %w", err)
	}
	logPath := filepath.Join(dir, "chekd.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("chekd-bench: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "--config", cfgPath, "run")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET=", "WATCHDOG_USEC=")
	c := &child{cmd: cmd, health: "http://" + listen + "/healthz", logPath: logPath, exited: make(chan struct{})}
	c.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("chekd-bench: start %s: %w", bin, err)
	}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// waitHealthy polls /healthz until it answers 200 and returns the time from
// the process start to that answer.
func (c *child) waitHealthy(ctx context.Context, limit time.Duration) (time.Duration, error) {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-c.exited:
			return 0, fmt.Errorf("chekd-bench: chekd exited before it was healthy (%v); its log:\n%s", c.waitErr, c.logTail())
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.health, nil)
		if err != nil {
			return 0, fmt.Errorf("chekd-bench: %w", err)
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(c.started), nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			c.kill()
			return 0, fmt.Errorf("chekd-bench: chekd not healthy after %s; its log:\n%s", limit, c.logTail())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// usage is what a stopped child used over its whole life.
type usage struct {
	CPU      time.Duration // user + system
	MaxRSSKB int64
}

// stop asks chekd to stop (SIGTERM), waits for it and returns its usage.
func (c *child) stop(limit time.Duration) (usage, error) {
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return usage{}, fmt.Errorf("chekd-bench: signal chekd: %w", err)
	}
	select {
	case <-c.exited:
	case <-time.After(limit):
		c.kill()
		return usage{}, fmt.Errorf("chekd-bench: chekd did not stop within %s of SIGTERM", limit)
	}
	if c.waitErr != nil {
		return usage{}, fmt.Errorf("chekd-bench: chekd stopped with %v; its log:\n%s", c.waitErr, c.logTail())
	}
	ru, ok := c.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return usage{}, errors.New("chekd-bench: no resource usage for the child")
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return usage{CPU: cpu, MaxRSSKB: ru.Maxrss}, nil
}

// kill ends the child without grace (only after a failure).
func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	<-c.exited
}

// vmHWM is the child's peak resident set so far, in bytes.
func (c *child) vmHWM() (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("chekd-bench: %w", err)
	}
	return procStatusBytes(data, "VmHWM")
}

// procStatusBytes reads a "Name:   123 kB" line of /proc/PID/status.
func procStatusBytes(status []byte, name string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != name {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("chekd-bench: /proc status %s: unexpected %q", name, strings.TrimSpace(v))
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("chekd-bench: /proc status %s: bad number %q", name, f[0])
		}
		return n * 1024, nil
	}
	return 0, fmt.Errorf("chekd-bench: /proc status has no %s line", name)
}

// logTail is the end of chekd's log, for error messages.
func (c *child) logTail() string {
	data, err := os.ReadFile(c.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-15):], "\n")
}

// buildChekd builds cmd/chekd into dir, as `make build` does.
func buildChekd(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "chekd")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./cmd/chekd")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("chekd-bench: go build ./cmd/chekd: %w\n%s", err, out)
	}
	return bin, nil
}

// goStats are figures of chekd's Go runtime, from its /metrics.
type goStats struct {
	Goroutines int64
	StackBytes int64
	HeapBytes  int64 // heap in use
}

// scrapeGoStats reads the Go runtime figures from chekd's /metrics.
func (c *child) scrapeGoStats(ctx context.Context) (goStats, error) {
	url := strings.TrimSuffix(c.health, "/healthz") + "/metrics"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return goStats{}, fmt.Errorf("chekd-bench: %w", err)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return goStats{}, fmt.Errorf("chekd-bench: scrape chekd's metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return goStats{}, fmt.Errorf("chekd-bench: chekd's /metrics answered %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return goStats{}, fmt.Errorf("chekd-bench: read chekd's metrics: %w", err)
	}
	vals := parseMetrics(data)
	need := map[string]*int64{}
	var s goStats
	need["go_goroutines"] = &s.Goroutines
	need["go_memstats_stack_inuse_bytes"] = &s.StackBytes
	need["go_memstats_heap_inuse_bytes"] = &s.HeapBytes
	for name, dst := range need {
		v, ok := vals[name]
		if !ok {
			return goStats{}, fmt.Errorf("chekd-bench: chekd's /metrics has no %s", name)
		}
		*dst = int64(v)
	}
	return s, nil
}

// metricName reports whether s is a Prometheus metric name.
func metricName(s string) bool {
	for i, c := range s {
		switch {
		case c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}

// parseMetrics reads the unlabelled samples of a Prometheus text exposition
// ("name value" lines); comments, labelled samples and lines that do not
// parse are skipped.
func parseMetrics(data []byte) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), maxLine)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || strings.ContainsRune(line, '{') {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || len(f) > 3 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || !metricName(f[0]) {
			continue
		}
		out[f[0]] = v
	}
	return out
}
