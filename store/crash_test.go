package store

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// crashChildEnv names the database file when the test binary runs as the
// crash test's child.
const crashChildEnv = "CHEKD_STORE_CRASH_CHILD"

// TestCrashChild is the child of TestCrashSafety; run on its own it does
// nothing. It finishes what the last run left pending, then writes intents
// and prints them for ever, reporting every committed write on stdout as
// "@@ <op> <order>" (C created, P printed, K cursor) until it is killed.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashChildEnv)
	if path == "" {
		return
	}
	var mu sync.Mutex
	report := func(op string, n int64) {
		mu.Lock()
		defer mu.Unlock()
		// One write call per line, unbuffered: once it returns, the parent
		// can read it even if this process dies the next instant.
		if _, err := fmt.Fprintf(os.Stdout, "@@ %s %d\n", op, n); err != nil {
			os.Exit(4)
		}
	}
	fail := func(err error) {
		fmt.Fprintf(os.Stderr, "crash child: %v\n", err)
		os.Exit(3)
	}
	db, err := Open(path, Options{Timeout: 10 * time.Second})
	if err != nil {
		fail(err)
	}
	// Start-up recovery: everything pending (or half-way through a
	// requeue) is finished first.
	pending, err := db.Pending()
	if err != nil {
		fail(err)
	}
	for _, r := range pending {
		if err := db.MarkPrinted(r.Key, fiscalFor(r.OrderID), time.Now()); err != nil {
			fail(err)
		}
		report("P", r.OrderID)
	}
	failed, _, err := db.List(Filter{State: StateFailed, Limit: 1000})
	if err != nil {
		fail(err)
	}
	for _, r := range failed {
		if err := printChild(db, r.Key); err != nil {
			fail(err)
		}
		report("P", r.OrderID)
	}
	next := int64(1)
	if newest, _, err := db.List(Filter{Limit: 1}); err != nil {
		fail(err)
	} else if len(newest) == 1 {
		next = newest[0].OrderID + 1
	}
	for {
		n := 1 + next%3
		var batch []Receipt
		for o := next; o < next+n; o++ {
			batch = append(batch, intent("crash", o, "sale"))
		}
		cur := Cursor{UpdatedAt: time.Unix(next+n-1, 0).UTC().Format(time.RFC3339), ID: next + n - 1}
		if _, err := db.SaveBatch("crash", batch, &cur); err != nil {
			fail(err)
		}
		for _, r := range batch {
			report("C", r.OrderID)
		}
		report("K", cur.ID)
		var wg sync.WaitGroup
		for _, r := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := printChild(db, r.Key); err != nil {
					fail(err)
				}
				report("P", r.OrderID)
			}()
		}
		wg.Wait()
		next += n
	}
}

// printChild drives one receipt to printed through the paths the daemon
// uses: some fail once and are requeued, some need a retry first.
func printChild(db *DB, k Key) error {
	r, err := db.Get(k)
	if err != nil {
		return err
	}
	now := time.Now()
	if r.State == StatePending && r.Generation == 1 {
		switch k.OrderID % 5 {
		case 1:
			if err := db.RecordAttempt(k, "transient", "FCE 18", now, now); err != nil {
				return err
			}
		case 2:
			if err := db.MarkFailed(k, "permanent", "error 51", now); err != nil {
				return err
			}
			r.State = StateFailed
		}
	}
	if r.State == StateFailed {
		if _, err := db.Requeue(k, 2, r.RequestID+"-2", body(k, 2), now); err != nil {
			return err
		}
	}
	return db.MarkPrinted(k, fiscalFor(k.OrderID), now)
}

// TestCrashSafety kills a writing child process at random moments and proves
// after each kill that the file checks clean, every write the child reported
// as committed is there, and no record is in an impossible state.
func TestCrashSafety(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		return
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	path := filepath.Join(t.TempDir(), "crash.db")
	created := map[int64]bool{}
	printed := map[int64]bool{}
	var cursor int64
	const kills = 50
	for i := 0; i < kills; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill after a random number of reported writes, or (one time in
		// five) at a random instant, likely during open or recovery.
		lines := bufio.NewScanner(out)
		killAfter := 1 + rng.IntN(60)
		if rng.IntN(5) == 0 {
			time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond)
			killAfter = 0
		}
		var reported []string
		killed := false
		kill := func() {
			if !killed {
				killed = true
				_ = cmd.Process.Signal(syscall.SIGKILL)
			}
		}
		if killAfter == 0 {
			kill()
		}
		for lines.Scan() {
			line := lines.Text()
			if !strings.HasPrefix(line, "@@ ") {
				continue
			}
			reported = append(reported, line)
			if i == 0 && len(reported) == 1 {
				// While the child runs, another Open must be refused.
				_, err := Open(path, Options{Timeout: 20 * time.Millisecond})
				if err == nil || !strings.Contains(err.Error(), "is locked by another chekd process (waited 20ms)") {
					t.Fatalf("open while the child holds the file: %v", err)
				}
			}
			if len(reported) == killAfter {
				if rng.IntN(2) == 0 {
					time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
				}
				kill()
			}
		}
		kill()
		werr := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("kill %d: the child ended by itself (%v): %s", i, werr, stderr.String())
		}
		for _, line := range reported {
			f := strings.Fields(line)
			n, err := strconv.ParseInt(f[2], 10, 64)
			if len(f) != 3 || err != nil {
				t.Fatalf("bad report %q", line)
			}
			switch f[1] {
			case "C":
				created[n] = true
			case "P":
				printed[n] = true
			case "K":
				cursor = max(cursor, n)
			}
		}
		verifyAfterCrash(t, path, created, printed, cursor)
	}
	t.Logf("%d kills, %d receipts created, %d printed", kills, len(created), len(printed))
	if len(printed) < kills {
		t.Fatalf("only %d receipts printed in %d runs: the child did too little to prove anything", len(printed), kills)
	}
}

func verifyAfterCrash(t *testing.T, path string, created, printed map[int64]bool, cursor int64) {
	t.Helper()
	db, err := Open(path, Options{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal("reopen after kill:", err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Fatal("check after kill:", err)
	}
	for o := range created {
		r, err := db.Get(Key{"crash", o, "sale"})
		if err != nil {
			t.Fatalf("reported intent %d: %v", o, err)
		}
		if r.State != StatePending && r.State != StatePrinted && r.State != StateFailed {
			t.Fatalf("intent %d is %s", o, r.State)
		}
	}
	for o := range printed {
		r, err := db.Get(Key{"crash", o, "sale"})
		if err != nil || r.State != StatePrinted || r.Fiscal == nil || r.Fiscal.FiscalSign != fiscalFor(o).FiscalSign {
			t.Fatalf("reported printed %d: %+v, %v", o, r, err)
		}
	}
	// Every record, reported or not, holds its own order's data.
	all, _, err := db.List(Filter{Limit: 1000})
	for len(all) > 0 && err == nil {
		for _, r := range all {
			gen := r.Generation
			if string(r.Body) != string(body(r.Key, gen)) || (gen == 2) != strings.HasSuffix(r.RequestID, "-2") {
				t.Fatalf("record %d: body or request of another generation: %+v", r.ID, r)
			}
			if r.Fiscal != nil && !fiscalEqual(*r.Fiscal, fiscalFor(r.OrderID)) {
				t.Fatalf("record %d: fiscal data of another receipt: %+v", r.ID, r.Fiscal)
			}
		}
		var next uint64
		if next = all[len(all)-1].ID; next <= 1 {
			break
		}
		all, _, err = db.List(Filter{Limit: 1000, Before: next})
	}
	if err != nil {
		t.Fatal(err)
	}
	st, err := db.Shop("crash")
	if cursor > 0 && (err != nil || st.Cursor.ID < cursor) {
		t.Fatalf("cursor %+v (%v), reported %d", st.Cursor, err, cursor)
	}
}

func fiscalEqual(a, b Fiscal) bool {
	a.Date, b.Date = a.Date.UTC(), b.Date.UTC()
	return a == b
}
