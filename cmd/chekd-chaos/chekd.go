package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// logLine is what the driver reads from one line of chekd's JSON log.
type logLine struct {
	Level     string `json:"level"`
	Msg       string `json:"msg"`
	Addr      string `json:"addr"`       // "status endpoint listening"
	FromCache bool   `json:"from_cache"` // "receipt printed"
}

// parseLogLine reads one line of chekd's log (log.format: json). Lines that
// are not JSON objects (a panic, a cobra message) are not log lines.
func parseLogLine(line []byte) (logLine, bool) {
	if len(line) == 0 || line[0] != '{' {
		return logLine{}, false
	}
	var l logLine
	if err := json.Unmarshal(line, &l); err != nil || l.Msg == "" {
		return logLine{}, false
	}
	return l, true
}

// logStats sums up what every chekd life logged.
type logStats struct {
	mu        sync.Mutex
	errors    map[string]int // ERROR lines by message
	warns     map[string]int // WARN lines by message
	printed   int            // "receipt printed" lines
	fromCache int            // of which answered from the register's cache
	recovered int            // starts that found pending intents to resend
	config    map[string]int // config warnings chekd prints before it logs
	foreign   []string       // other lines that are not log lines (panics, fatal errors)
}

func (s *logStats) add(l logLine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.Level == "ERROR" {
		if s.errors == nil {
			s.errors = map[string]int{}
		}
		s.errors[l.Msg]++
	}
	if l.Level == "WARN" {
		if s.warns == nil {
			s.warns = map[string]int{}
		}
		s.warns[l.Msg]++
	}
	if l.Msg == "resending pending receipts before the first poll" {
		s.recovered++
	}
	if l.Msg == "receipt printed" {
		s.printed++
		if l.FromCache {
			s.fromCache++
		}
	}
}

// configWarning is how chekd prints a config warning, on stderr before its
// log starts.
const configWarning = "chekd: warning: "

func (s *logStats) addForeign(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w, ok := strings.CutPrefix(line, configWarning); ok {
		if s.config == nil {
			s.config = map[string]int{}
		}
		s.config[w]++
		return
	}
	if len(s.foreign) < 50 {
		s.foreign = append(s.foreign, line)
	}
}

// summary lists ERROR messages, most frequent first.
func (s *logStats) summary() []string {
	return s.count(func(s *logStats) map[string]int { return s.errors })
}

// warnings lists WARN messages, most frequent first.
func (s *logStats) warnings() []string {
	return s.count(func(s *logStats) map[string]int { return s.warns })
}

func (s *logStats) count(which func(*logStats) map[string]int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	type kv struct {
		msg string
		n   int
	}
	var list []kv
	for m, n := range which(s) {
		list = append(list, kv{m, n})
	}
	sort.Slice(list, func(i, j int) bool {
		return list[i].n > list[j].n || list[i].n == list[j].n && list[i].msg < list[j].msg
	})
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = fmt.Sprintf("%d× %s", e.n, e.msg)
	}
	return out
}

// chekd runs `chekd run` lives one after another on the same config and
// data dir.
type chekd struct {
	bin, config string
	logFile     *os.File
	stats       *logStats

	mu    sync.Mutex
	cmd   *exec.Cmd
	done  chan struct{} // closed when the current life has exited
	err   error         // how it exited
	addr  string        // its status endpoint, once it listens
	lives int
	// exitedAlone counts lives that ended without being told to.
	exitedAlone []string
}

// start starts a new life. The previous one must have ended.
func (c *chekd) start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd != nil {
		return errors.New("chaos: chekd is already running")
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("chaos: pipe for chekd's log: %w", err)
	}
	c.lives++
	fmt.Fprintf(c.logFile, "=== chaos: chekd life %d starts at %s\n", c.lives, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(c.bin, "run", "--config", c.config)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return fmt.Errorf("chaos: start chekd: %w", err)
	}
	w.Close()
	done := make(chan struct{})
	c.cmd, c.done, c.addr, c.err = cmd, done, "", nil
	life := c.lives
	go func() {
		c.scan(r, life)
		r.Close()
		err := cmd.Wait()
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		close(done)
	}()
	return nil
}

// scan copies a life's output to the log file and reads it.
func (c *chekd) scan(r io.Reader, life int) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		_, _ = c.logFile.Write(append(line, '\n'))
		l, ok := parseLogLine(line)
		if !ok {
			if len(line) > 0 {
				c.stats.addForeign(fmt.Sprintf("%.300s", line))
			}
			continue
		}
		c.stats.add(l)
		if l.Msg == "status endpoint listening" && l.Addr != "" {
			c.mu.Lock()
			if c.lives == life {
				c.addr = l.Addr
			}
			c.mu.Unlock()
		}
	}
	if err := sc.Err(); err != nil {
		// A line too long to scan: keep chekd's output flowing regardless,
		// or it would block on a full pipe.
		c.stats.addForeign(fmt.Sprintf("chaos: reading chekd's output of life %d: %v", life, err))
		_, _ = io.Copy(c.logFile, r)
	}
}

// killedBySIGKILL reports whether a process ended by SIGKILL.
func killedBySIGKILL(ps *os.ProcessState) bool {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// running reports whether a life is under way and has not exited.
func (c *chekd) running() bool {
	c.mu.Lock()
	done := c.done
	c.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// reap notes a life that exited on its own and clears it.
func (c *chekd) reap() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		return
	}
	select {
	case <-c.done:
		c.exitedAlone = append(c.exitedAlone, fmt.Sprintf("life %d exited on its own: %v", c.lives, c.err))
		c.cmd, c.done = nil, nil
	default:
	}
}

// kill sends SIGKILL and waits for the life to end. It reports whether the
// signal is what ended it (and not an exit of chekd's own just before).
func (c *chekd) kill() (bool, error) {
	c.mu.Lock()
	cmd, done := c.cmd, c.done
	c.mu.Unlock()
	if cmd == nil {
		return false, nil
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return false, fmt.Errorf("chaos: SIGKILL chekd: %w", err)
	}
	<-done
	c.mu.Lock()
	defer c.mu.Unlock()
	killed := cmd.ProcessState != nil && killedBySIGKILL(cmd.ProcessState)
	if !killed {
		c.exitedAlone = append(c.exitedAlone, fmt.Sprintf("life %d exited on its own: %v", c.lives, c.err))
	}
	c.cmd, c.done = nil, nil
	return killed, nil
}

// stop sends SIGTERM and waits up to grace for a clean exit (status 0).
func (c *chekd) stop(grace time.Duration) error {
	c.mu.Lock()
	cmd, done := c.cmd, c.done
	c.mu.Unlock()
	if cmd == nil {
		return errors.New("chaos: chekd is not running")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("chaos: SIGTERM chekd: %w", err)
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		return fmt.Errorf("chaos: chekd did not stop within %s of SIGTERM", grace)
	}
	c.mu.Lock()
	err := c.err
	c.cmd, c.done = nil, nil
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("chaos: chekd stopped badly after SIGTERM: %w", err)
	}
	return nil
}

// apiShop is a shop as chekd's /api/shops shows it.
type apiShop struct {
	Name       string `json:"name"`
	LastPollAt string `json:"last_poll_at"`
	Receipts   struct {
		Printed     int `json:"printed"`
		Pending     int `json:"pending"`
		Failed      int `json:"failed"`
		Skipped     int `json:"skipped"`
		NeedsPerson int `json:"needs_person"`
	} `json:"receipts"`
	Register struct {
		State  string `json:"state"`
		Reason string `json:"reason"`
	} `json:"register"`
}

// shops reads the running chekd's /api/shops.
func (c *chekd) shops(ctx context.Context) ([]apiShop, error) {
	c.mu.Lock()
	addr := c.addr
	c.mu.Unlock()
	if addr == "" {
		return nil, errors.New("chaos: chekd's status endpoint is not up yet")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/shops", nil)
	if err != nil {
		return nil, fmt.Errorf("chaos: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("chaos: chekd API: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("chaos: chekd API: /api/shops: HTTP %d", resp.StatusCode)
	}
	var out []apiShop
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("chaos: chekd API: /api/shops: %w", err)
	}
	return out, nil
}
