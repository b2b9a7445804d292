package main

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chekd/chekd/cmd/chekd-fakes/fakes"
)

// TestChaosShort is the short chaos run of `make test`: real chekd and
// chekd-fakes binaries built from this tree, at least 300 orders in 3 shops,
// at least 20 SIGKILLs, every fault, the register timeout included.
// Deadlines only guard against a hang; nothing here is timed.
func TestChaosShort(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("the go command must be on PATH to build chekd and chekd-fakes: %v", err)
	}
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d (replay with: go run ./cmd/chekd-chaos -orders 300 -kills 20 -seed %d)", seed, seed)
	o := options{
		orders: 300, shops: 3, kills: 20, seed: seed, timeoutFault: true,
		dir:       dir,
		realLimit: 1, wholeSeconds: 1,
		minLife: 50 * time.Millisecond, maxLife: 600 * time.Millisecond,
		stall:    150 * time.Second,
		deadline: 8 * time.Minute,
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	res, err := run(t.Context(), o, log)
	if err != nil {
		dumpLog(t, dir)
		t.Fatal(err)
	}
	t.Log(res.line())
	if !res.ok() || res.kills < 20 || res.expected < 300 || res.printed != res.expected {
		dumpLog(t, dir)
		t.Fatalf("%s extra=%d\n%s", res.line(), res.extra, strings.Join(res.problems, "\n"))
	}
}

// dumpLog shows the end of chekd's log when the run failed.
func dumpLog(t *testing.T, dir string) {
	f, err := os.Open(filepath.Join(dir, "chekd.log"))
	if err != nil {
		t.Logf("no chekd log: %v", err)
		return
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	t.Logf("last lines of chekd's log:\n%s", strings.Join(lines[max(0, len(lines)-150):], "\n"))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func scriptNamed(t *testing.T, name string) *script {
	t.Helper()
	for i := range scripts {
		if scripts[i].name == name {
			return &scripts[i]
		}
	}
	t.Fatalf("no script %q", name)
	return nil
}

func TestExpectedFollowsTheHistory(t *testing.T) {
	t.Parallel()
	cases := []struct {
		payment string
		history string
		want    string
	}{
		{"card", "accepted dispatched delivered", "sale"},
		{"card", "dispatched returned", "sale refund"},
		{"card", "dispatched accepted dispatched returned dispatched returned", "sale refund"},
		{"card", "returned", ""},
		{"card", "returned dispatched returned", "sale refund"},
		{"card", "accepted declined", ""},
		{"cod", "dispatched returned", ""},
		{"card", "", ""},
	}
	for _, c := range cases {
		o := &order{payment: c.payment, history: strings.Fields(c.history)}
		var got []string
		for _, k := range o.expected() {
			got = append(got, string(k))
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s %q: expected %v, want %q", c.payment, c.history, got, c.want)
		}
	}
}

func TestScriptsWaitForTheirReceipts(t *testing.T) {
	t.Parallel()
	printed := map[string]map[kind]bool{}
	is := func(email string, k kind) bool { return printed[email][k] }
	o := &order{email: "a@example.com", payment: "card", script: scriptNamed(t, "refund")}
	if !o.ready(is) || o.done(is) {
		t.Fatal("a new order must be ready for its first step")
	}
	o.history, o.next = append(o.history, "dispatched"), 1
	if o.ready(is) {
		t.Fatal("the order left dispatched before its sale was printed")
	}
	printed["a@example.com"] = map[kind]bool{kindSale: true}
	if !o.ready(is) {
		t.Fatal("the sale is printed: the order may be returned")
	}
	o.history, o.next = append(o.history, "returned"), 2
	if o.ready(is) || o.done(is) {
		t.Fatal("the script is done only once the refund is printed")
	}
	printed["a@example.com"][kindRefund] = true
	if !o.done(is) {
		t.Fatal("refund printed: the script is done")
	}
	for _, sc := range scripts {
		if sc.racy {
			continue // judged by what was printed
		}
		o := &order{payment: sc.payment, script: &sc}
		for _, st := range sc.steps {
			o.history = append(o.history, st.status)
		}
		for _, k := range o.expected() {
			found := false
			for _, st := range sc.steps {
				found = found || st.wait == k
			}
			if !found {
				t.Errorf("script %s needs a %s but never waits for it: the run could end before it is printed", sc.name, k)
			}
		}
	}
}

func TestJudgeCountsDuplicatesMissingAndExtra(t *testing.T) {
	t.Parallel()
	sale := scriptNamed(t, "refund")
	orders := []*order{
		{shop: "s", id: 1, email: "1@x", total: 100, payment: "card", script: sale, history: []string{"dispatched", "returned"}},
		{shop: "s", id: 2, email: "2@x", total: 200, payment: "card", script: sale, history: []string{"dispatched"}},
		{shop: "s", id: 3, email: "3@x", total: 300, payment: "cod", script: sale, history: []string{"dispatched"}},
		{shop: "s", id: 4, email: "4@x", total: 400, payment: "card", script: sale, history: []string{"dispatched"}},
	}
	doc := func(email string, typ uint8, total uint64) fakes.Document {
		return fakes.Document{Contact: email, DocumentType: typ, Total: total, RequestID: "r"}
	}
	ledger := []fakes.Document{
		doc("1@x", 0, 100), doc("1@x", 2, 100), // complete
		doc("2@x", 0, 200), doc("2@x", 0, 200), doc("2@x", 0, 200), // two duplicates
		doc("3@x", 0, 300),    // cash on delivery: extra
		doc("nobody@x", 0, 1), // extra
		doc("2@x", 1, 200),    // a kind never asked for: extra
		doc("1@x", 2, 100),    // refund twice: duplicate
		// order 4: its sale is missing
	}
	v := judge(orders, ledger)
	if v.expected != 4 || v.printed != len(ledger) || v.duplicates != 3 || v.missing != 1 || v.extra != 3 {
		t.Fatalf("verdict %+v", v)
	}
	ledger[0].Total = 99
	if v := judge(orders, ledger[:2]); len(v.problems) != 3 || !strings.Contains(strings.Join(v.problems, "\n"), "wrong total") {
		t.Fatalf("a wrong total must be a problem: %q", v.problems)
	}
	if v := judge(orders[:1], ledger[1:2]); v.missing != 1 || v.extra != 0 {
		t.Fatalf("only the refund printed: %+v", v)
	}

	racy := scriptNamed(t, "racy-refund")
	pair := func(id int64) *order {
		return &order{shop: "s", id: id, email: fmt.Sprint(id, "@r"), total: 10, payment: "card", script: racy, history: []string{"dispatched", "returned"}}
	}
	rorders := []*order{pair(1), pair(2), pair(3), pair(4)}
	rledger := []fakes.Document{
		doc("1@r", 0, 10), doc("1@r", 2, 10), // seen sold: both
		// 2: never seen sold: nothing
		doc("3@r", 0, 10), // sale alone: the refund is missing
		doc("4@r", 2, 10), // refund alone: extra
	}
	v = judge(rorders, rledger)
	if v.expected != 4 || v.missing != 1 || v.extra != 1 || v.duplicates != 0 || v.racy != 4 || v.racyPrinted != 2 {
		t.Fatalf("racy verdict %+v", v)
	}
}

func TestParseLogLine(t *testing.T) {
	t.Parallel()
	l, ok := parseLogLine([]byte(`{"time":"2026-01-01T00:00:00Z","level":"INFO","msg":"status endpoint listening","addr":"127.0.0.1:4321"}`))
	if !ok || l.Addr != "127.0.0.1:4321" || l.Level != "INFO" {
		t.Fatalf("got %+v %v", l, ok)
	}
	l, ok = parseLogLine([]byte(`{"level":"INFO","msg":"receipt printed","from_cache":true,"fd":7}`))
	if !ok || !l.FromCache {
		t.Fatalf("got %+v %v", l, ok)
	}
	for _, bad := range []string{"", "chekd: warning: x", "{", `{"msg":""}`, `{"msg":3}`, `[1]`} {
		if _, ok := parseLogLine([]byte(bad)); ok {
			t.Errorf("parseLogLine(%q) took it for a log line", bad)
		}
	}
	var s logStats
	s.addForeign(configWarning + "the certificate expires soon")
	s.addForeign(configWarning + "the certificate expires soon")
	s.addForeign("panic: boom")
	s.add(logLine{Level: "ERROR", Msg: "poll failed"})
	s.add(logLine{Level: "ERROR", Msg: "poll failed"})
	s.add(logLine{Level: "ERROR", Msg: "receipt printed but not recorded"})
	s.add(logLine{Level: "WARN", Msg: "insales: rate limited; waiting"})
	if s.config["the certificate expires soon"] != 2 || len(s.foreign) != 1 {
		t.Errorf("config warnings %v, foreign %q", s.config, s.foreign)
	}
	if got := strings.Join(s.warnings(), "; "); got != "1× insales: rate limited; waiting" {
		t.Errorf("warnings %q", got)
	}
	if got := strings.Join(s.summary(), "; "); got != "2× poll failed; 1× receipt printed but not recorded" {
		t.Errorf("summary %q", got)
	}
}

func TestOptionsAreChecked(t *testing.T) {
	t.Parallel()
	good := options{orders: 10, shops: 3, kills: 1, realLimit: 1, wholeSeconds: 1, minLife: time.Millisecond, maxLife: time.Second,
		stall: 2 * time.Minute, deadline: time.Minute}
	if err := good.check(); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*options){
		"no orders":       func(o *options) { o.orders = 0 },
		"no shops":        func(o *options) { o.shops = 0 },
		"negative kills":  func(o *options) { o.kills = -1 },
		"real limit":      func(o *options) { o.realLimit = 4 },
		"life backwards":  func(o *options) { o.maxLife = 0 },
		"stall too short": func(o *options) { o.stall = 10 * time.Second },
	} {
		o := good
		change(&o)
		if err := o.check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if code := realMain([]string{"-orders", "0"}, os.Stdout, testWriter{t}); code != 2 {
		t.Errorf("bad flags: exit %d, want 2", code)
	}
}

// FuzzParseLogLine reads arbitrary lines as chekd's log.
func FuzzParseLogLine(f *testing.F) {
	f.Add([]byte(`{"level":"INFO","msg":"status endpoint listening","addr":"127.0.0.1:1"}`))
	f.Add([]byte(`{"level":"ERROR","msg":"poll failed","err":"x"}`))
	f.Add([]byte(`chekd: warning: something`))
	f.Add([]byte(`{"msg":"receipt printed","from_cache":"yes"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		l, ok := parseLogLine(line)
		if ok && l.Msg == "" {
			t.Fatalf("a log line without a message: %q", line)
		}
		var s logStats
		if ok {
			s.add(l)
		} else {
			s.addForeign(string(line))
		}
		_, _ = s.summary(), s.warnings()
	})
}
