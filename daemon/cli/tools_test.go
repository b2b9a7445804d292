package cli

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chekd/chekd/fiscal/chekonlinetest"
	"github.com/chekd/chekd/store"
)

// chekd runs a command line in this process and returns its output.
func (w *procWorld) chekd(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = Execute(append([]string{"--config", w.cfgPath}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestTestConnectionAndDiscover(t *testing.T) {
	w := newProcWorld(t, "shop")
	code, out, errOut := w.chekd("test-connection")
	if code != ExitOK || strings.Count(out, "✓") != 2 || !strings.Contains(out, "accepts the client certificate") {
		t.Fatalf("test-connection: %d\n%s%s", code, out, errOut)
	}
	if n := w.reg.Stats().Complex; n != 0 {
		t.Fatalf("test-connection printed %d documents", n)
	}

	code, out, _ = w.chekd("discover", "--shop", "shop")
	for _, want := range []string{"dispatched", "1797", "Банковской картой онлайн", "cash on delivery", "511497", "Фискальный чек"} {
		if !strings.Contains(out, want) {
			t.Errorf("discover does not show %q:\n%s", want, out)
		}
	}
	if code != ExitOK {
		t.Fatalf("discover exited %d", code)
	}
	if code, _, errOut := w.chekd("discover"); code != ExitUsage || !strings.Contains(errOut, "--shop") {
		t.Errorf("discover without --shop: %d %s", code, errOut)
	}

	// A wrong InSales password: a ✗ line naming what to check, exit 1, and
	// the password itself nowhere.
	cfg, err := os.ReadFile(w.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(cfg), "password: "+w.shops["shop"].Password(), "password: Wrong-Secret-123", 1)
	if err := os.WriteFile(w.cfgPath, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = w.chekd("test-connection", "--shop", "shop")
	if code != ExitFailure || !strings.Contains(out, "✗ shop: InSales") || !strings.Contains(out, "insales.api_key") {
		t.Errorf("test-connection with a wrong password: %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, "Wrong-Secret-123") {
		t.Errorf("a password appeared in the output:\n%s%s", out, errOut)
	}
}

func TestReceiptsRetryAndBackupWithAndWithoutTheDaemon(t *testing.T) {
	w := newProcWorld(t, "shop")
	// The register refuses the first receipt for good (a permanent error).
	w.reg.Inject(chekonlinetest.RegisterError(51))
	c := w.start()
	failed := w.sale("shop")
	printed := w.sale("shop")
	waitUntil(t, "one failed and one printed receipt", func() bool {
		return len(w.receipts("state=failed")) == 1 && len(w.receipts("state=printed")) == 1
	})

	// Through the running daemon's API.
	code, out, errOut := w.chekd("receipts", "--json")
	var list []apiReceipt
	if code != ExitOK || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 {
		t.Fatalf("receipts --json via the API: %d %q %s", code, out, errOut)
	}
	if list[0].Contact != "bu***@example.com" {
		t.Errorf("contact %q, want it masked", list[0].Contact)
	}
	code, out, _ = w.chekd("receipts", "--order", printed.Number)
	if code != ExitOK || !strings.Contains(out, printed.Number) || strings.Contains(out, " "+failed.Number+" ") {
		t.Errorf("receipts --order %s:\n%s", printed.Number, out)
	}
	hot := filepath.Join(t.TempDir(), "hot.db")
	if code, out, errOut := w.chekd("backup", hot); code != ExitOK || !strings.Contains(out, "from the running daemon") {
		t.Fatalf("hot backup: %d %s %s", code, out, errOut)
	}
	checkBackup(t, hot, 2)

	if code := c.signal(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}

	// With no daemon: the file, read-only.
	code, out, _ = w.chekd("receipts", "--state", "failed")
	if code != ExitOK || !strings.Contains(out, failed.Number) || !strings.Contains(out, "failed") {
		t.Errorf("receipts from the file:\n%s", out)
	}
	cold := filepath.Join(t.TempDir(), "cold.db")
	if code, out, errOut := w.chekd("backup", cold); code != ExitOK || !strings.Contains(out, "read from") {
		t.Fatalf("cold backup: %d %s %s", code, out, errOut)
	}
	checkBackup(t, cold, 2)

	// A person retries the failed receipt while chekd is stopped: it is
	// rebuilt under a new RequestId and printed at the next start.
	code, out, errOut = w.chekd("retry", "--shop", "shop", "--order", failed.Number)
	if code != ExitOK || !strings.Contains(out, "-sale-2") {
		t.Fatalf("retry: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := w.chekd("retry", "--shop", "shop", "--order", strconv.FormatInt(printed.ID, 10)); code == ExitOK {
		t.Errorf("retrying a printed receipt must fail: %s", errOut)
	}
	c = w.start()
	waitUntil(t, "the retried receipt", func() bool { return len(w.receipts("state=printed")) == 2 })
	if code := c.signal(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if n := len(w.reg.Ledger()); n != 2 {
		t.Fatalf("%d documents, want 2", n)
	}
}

func checkBackup(t *testing.T, path string, want int) {
	t.Helper()
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Fatalf("backup %s: %v", path, err)
	}
	recs, _, err := db.List(store.Filter{})
	if err != nil || len(recs) != want {
		t.Fatalf("backup holds %d receipts (%v), want %d", len(recs), err, want)
	}
}

// chekd tells systemd it is ready, feeds the watchdog while healthy, and
// says it is stopping.
func TestSystemdNotifications(t *testing.T) {
	w := newProcWorld(t, "shop")
	sock := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msgs := make(chan string, 100)
	go func() {
		buf := make([]byte, 512)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "200000")
	c := w.start()
	seen := map[string]bool{}
	wait := func(want string) {
		t.Helper()
		deadline := time.After(60 * time.Second)
		for !seen[want] {
			select {
			case m := <-msgs:
				seen[m] = true
			case <-deadline:
				t.Fatalf("no %s from chekd; got %v", want, seen)
			}
		}
	}
	wait("READY=1")
	wait("WATCHDOG=1")
	if code := c.signal(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d", code)
	}
	wait("STOPPING=1")
}
