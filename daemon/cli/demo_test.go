package cli

import (
	"bytes"
	"strings"
	"testing"
)

// The demo is the README's first command: it must run with no network and
// no accounts, and print every receipt its scenario calls for, once.
func TestDemoPrintsItsReceipts(t *testing.T) {
	var out, errOut bytes.Buffer
	code := Execute([]string{"demo", "--listen", "127.0.0.1:0", "--step", "100ms", "--until-done"}, &out, &errOut)
	if code != ExitOK {
		t.Fatalf("demo exited %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	text := out.String()
	if n := strings.Count(text, "✓ Продажа"); n != 11 {
		t.Errorf("%d sales printed, want 11:\n%s", n, text)
	}
	if n := strings.Count(text, "✓ Возврат"); n != 1 {
		t.Errorf("%d refunds printed, want 1:\n%s", n, text)
	}
	if !strings.Contains(text, "the register printed 12 documents") {
		t.Errorf("the register's ledger must hold exactly the 12 receipts:\n%s", text)
	}
	if strings.Contains(text, "anna@example.com") {
		t.Errorf("a buyer's e-mail must be masked:\n%s", text)
	}
}
