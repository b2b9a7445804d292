package status

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/chekd/chekd/store"
)

func decode[T any](t *testing.T, a answer) T {
	t.Helper()
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want JSON; body %s", ct, a.body)
	}
	var v T
	if err := json.Unmarshal([]byte(a.body), &v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
	return v
}

func ids(rs []ReceiptJSON) []uint64 {
	out := []uint64{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	s := startServer(t, b, testToken)

	a := s.get(t, "/healthz", "") // no token needed
	if a.code != http.StatusOK || a.body != "ok\n" {
		t.Fatalf("healthy: %d %q", a.code, a.body)
	}
	b.setHealth(errors.New("scheduler not running"))
	a = s.get(t, "/healthz", "")
	if a.code != http.StatusServiceUnavailable || !strings.Contains(a.body, "scheduler not running") {
		t.Fatalf("unhealthy: %d %q", a.code, a.body)
	}
}

func TestShopsAPI(t *testing.T) {
	t.Parallel()
	s := startServer(t, newBackend(t), "")
	a := s.get(t, "/api/shops", "")
	if a.code != http.StatusOK {
		t.Fatalf("%d %s", a.code, a.body)
	}
	got := decode[[]shopJSON](t, a)
	want := []shopJSON{
		{
			Name: "alpha", LastPollAt: "2024-01-15T10:30:00Z",
			Cursor:          &cursorJSON{UpdatedAt: "2024-01-15T12:59:58.000+03:00", OrderID: 3001},
			Receipts:        countsJSON{Printed: 3, Pending: 1, Failed: 1},
			OldestPendingAt: "2024-01-15T07:40:00Z",
			Register:        registerJSON{State: "ok"},
		},
		{
			Name: "beta", LastPollAt: "2024-01-15T10:30:00Z",
			LastPollError:   "insales: 401 Unauthorized: check the API key",
			Cursor:          &cursorJSON{UpdatedAt: "2024-01-15T10:00:00.000+03:00"},
			Receipts:        countsJSON{Pending: 1, Skipped: 1, DryRun: 1, NeedsPerson: 1},
			OldestPendingAt: "2024-01-15T08:40:00Z",
			Register:        registerJSON{State: "halted", Reason: "смена превысила 24 часа", Since: "2024-01-15T09:30:00Z"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("shops:\n got %+v\nwant %+v", got, want)
	}
	// The wire names the API promises.
	for _, key := range []string{`"last_poll_at"`, `"last_poll_error"`, `"cursor"`, `"receipts"`, `"printed"`, `"pending"`, `"failed"`, `"register"`, `"state": "halted"`, `"reason"`} {
		if !strings.Contains(a.body, key) {
			t.Errorf("answer lacks %s", key)
		}
	}
}

func TestReceiptsFilters(t *testing.T) {
	t.Parallel()
	s := startServer(t, newBackend(t), "")
	tests := []struct {
		query string
		want  []uint64
		next  uint64
	}{
		{"", []uint64{9, 8, 7, 6, 5, 4, 3, 2, 1}, 0},
		{"?shop=alpha", []uint64{9, 4, 3, 2, 1}, 0},
		{"?shop=beta", []uint64{8, 7, 6, 5}, 0},
		{"?shop=nosuch", []uint64{}, 0},
		{"?state=printed", []uint64{9, 4, 1}, 0},
		{"?state=pending", []uint64{8, 2}, 0},
		{"?state=failed", []uint64{3}, 0},
		{"?state=skipped", []uint64{5}, 0},
		{"?state=dry_run", []uint64{6}, 0},
		{"?state=needs_person", []uint64{7}, 0},
		{"?shop=alpha&state=pending", []uint64{2}, 0},
		{"?kind=refund", []uint64{4}, 0},
		{"?kind=sale&shop=beta", []uint64{6, 5}, 0},
		{"?order=1001", []uint64{4, 1}, 0},        // number and id are the same
		{"?order=B-2003", []uint64{7}, 0},         // a number only
		{"?order=2003", []uint64{7}, 0},           // an id only
		{"?order=2005", []uint64{9, 8}, 0},        // number of 9, id of 8
		{"?order=2005&shop=beta", []uint64{8}, 0}, // with the shop
		{"?order=1001&kind=sale", []uint64{1}, 0}, // with the kind
		{"?order=2005&limit=1", []uint64{9}, 9},   // paged
		{"?order=2005&before=9", []uint64{8}, 0},  // next page
		{"?order=nosuch", []uint64{}, 0},          //
		{"?limit=4", []uint64{9, 8, 7, 6}, 6},     // first page
		{"?limit=4&before=6", []uint64{5, 4, 3, 2}, 2},
		{"?limit=4&before=2", []uint64{1}, 0},
		{"?limit=5000", []uint64{9, 8, 7, 6, 5, 4, 3, 2, 1}, 0}, // lowered to 1000
		{"?state=printed&limit=2", []uint64{9, 4}, 4},
		{"?state=printed&limit=2&before=4", []uint64{1}, 0},
	}
	for _, tt := range tests {
		a := s.get(t, "/api/receipts"+tt.query, "")
		if a.code != http.StatusOK {
			t.Errorf("%s: %d %s", tt.query, a.code, a.body)
			continue
		}
		got := decode[receiptsJSON](t, a)
		if !reflect.DeepEqual(ids(got.Receipts), tt.want) || got.NextBefore != tt.next {
			t.Errorf("%s: ids %v next %d, want %v next %d", tt.query, ids(got.Receipts), got.NextBefore, tt.want, tt.next)
		}
	}
}

func TestReceiptsBadQuery(t *testing.T) {
	t.Parallel()
	s := startServer(t, newBackend(t), "")
	tests := []struct{ query, msg string }{
		{"?state=done", `state "done" is not one of pending, printed, failed, skipped, dry_run, needs_person`},
		{"?kind=gift", `kind "gift" is not one of sale, refund`},
		{"?limit=0", `limit "0" must be a whole number from 1 to 1000`},
		{"?limit=ten", `limit "ten" must be a whole number`},
		{"?before=-1", `before "-1" must be a receipt id`},
		{"?before=0", `before "0" must be a receipt id`},
		{"?order=" + strings.Repeat("1", 201), "order must be at most 200 bytes"},
		{"?shop=a%00b", "shop must be at most 200 bytes of printable text"},
	}
	for _, tt := range tests {
		a := s.get(t, "/api/receipts"+tt.query, "")
		if a.code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", tt.query, a.code, a.body)
			continue
		}
		if e := decode[errorJSON](t, a); !strings.Contains(e.Error, tt.msg) || !strings.HasPrefix(e.Error, "status: ") {
			t.Errorf("%s: error %q, want it to contain %q", tt.query, e.Error, tt.msg)
		}
	}
}

func TestReceiptByID(t *testing.T) {
	t.Parallel()
	s := startServer(t, newBackend(t), "")
	a := s.get(t, "/api/receipts/1", "")
	if a.code != http.StatusOK {
		t.Fatalf("%d %s", a.code, a.body)
	}
	got := decode[ReceiptJSON](t, a)
	want := ReceiptJSON{
		ID: 1, Shop: "alpha", OrderID: 1001, OrderNumber: "1001", Kind: "sale", State: "printed",
		RequestID: "alpha/1001/sale-g1", Generation: 1, Attempts: 1,
		CreatedAt: "2024-01-15T07:40:00Z", UpdatedAt: "2024-01-15T07:41:00Z", PrintedAt: "2024-01-15T07:41:00Z",
		Total: 123456, Contact: "iv***@example.com",
		Fiscal: &FiscalJSON{
			FiscalDocNumber: 101, FiscalSign: 3826380101, FNSerial: "9999078900012345",
			RegistrationNumber: "0000000001012345", DocNumber: 1, Shift: 7, Date: "2024-01-15T07:40:00Z",
			Total: 123456, QR: qrOf(1), CheckURL: checkBaseURL + qrOf(1),
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("receipt 1:\n got %+v\nwant %+v\n(fiscal %+v)", got, want, got.Fiscal)
	}
	// Numbers are JSON numbers, not strings.
	for _, frag := range []string{`"order_id": 1001`, `"fiscal_doc_number": 101`, `"fiscal_sign": 3826380101`, `"doc_number": 1`, `"total": 123456`, `"order_number": "1001"`} {
		if !strings.Contains(a.body, frag) {
			t.Errorf("answer lacks %s:\n%s", frag, a.body)
		}
	}

	got = decode[ReceiptJSON](t, s.get(t, "/api/receipts/2", ""))
	if got.State != "pending" || got.Contact != "+7999***67" || got.Error != "register: no answer in 30s" ||
		got.ErrorClass != "network" || got.NextAttemptAt != "2024-01-15T07:55:00Z" || got.Fiscal != nil || got.PrintedAt != "" {
		t.Errorf("receipt 2: %+v", got)
	}
	got = decode[ReceiptJSON](t, s.get(t, "/api/receipts/5", ""))
	if got.State != "skipped" || got.Reason != "оплата при получении" || got.Contact != "" {
		t.Errorf("receipt 5: %+v", got)
	}

	for path, code := range map[string]int{"/api/receipts/99": 404, "/api/receipts/x": 400, "/api/receipts/0": 400, "/api/receipts/-3": 400} {
		if a := s.get(t, path, ""); a.code != code {
			t.Errorf("%s: %d, want %d: %s", path, a.code, code, a.body)
		}
	}
}

func TestRetryAPI(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	s := startServer(t, b, testToken)

	a := s.do(t, http.MethodPost, "/api/receipts/3/retry", testToken, nil, nil)
	if a.code != http.StatusOK {
		t.Fatalf("retry failed receipt: %d %s", a.code, a.body)
	}
	got := decode[ReceiptJSON](t, a)
	if got.ID != 3 || got.State != "pending" || got.Generation != 2 || got.RequestID != "alpha/1003/sale-g2" || got.Error != "" {
		t.Fatalf("retried: %+v", got)
	}
	rec, err := b.db.GetByID(3)
	if err != nil || rec.State != store.StatePending || rec.Generation != 2 {
		t.Fatalf("store after retry: %+v %v", rec, err)
	}

	for _, tt := range []struct {
		path string
		code int
		msg  string
	}{
		{"/api/receipts/1/retry", http.StatusConflict, "status: retry receipt 1: daemon: this receipt cannot be retried: it is printed"},
		{"/api/receipts/99/retry", http.StatusNotFound, "status: retry receipt 99: store:"},
		{"/api/receipts/zz/retry", http.StatusBadRequest, `receipt id "zz"`},
	} {
		a := s.do(t, http.MethodPost, tt.path, testToken, nil, nil)
		if a.code != tt.code || !strings.Contains(decode[errorJSON](t, a).Error, tt.msg) {
			t.Errorf("%s: %d %s, want %d with %q", tt.path, a.code, a.body, tt.code, tt.msg)
		}
	}
	if got, want := b.retries(), []uint64{3, 1, 99}; !reflect.DeepEqual(got, want) {
		t.Errorf("backend saw retries %v, want %v", got, want)
	}
	if a := s.get(t, "/api/receipts/3/retry", testToken); a.code != http.StatusMethodNotAllowed {
		t.Errorf("GET retry: %d", a.code)
	}
}

func TestBackup(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	s := startServer(t, b, testToken)
	a := s.get(t, "/api/backup", testToken)
	if a.code != http.StatusOK {
		t.Fatalf("%d %s", a.code, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := a.header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="chekd-`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(path, []byte(a.body), 0o600); err != nil {
		t.Fatal(err)
	}
	copyDB, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("open the backup: %v", err)
	}
	defer copyDB.Close()
	if err := copyDB.Check(); err != nil {
		t.Fatalf("check the backup: %v", err)
	}
	all, _, err := copyDB.List(store.Filter{})
	if err != nil || len(all) != len(fixtures)-1 {
		t.Fatalf("backup holds %d receipts (%v), want %d", len(all), err, len(fixtures)-1)
	}
	orig, _ := b.db.GetByID(7)
	cp, _ := copyDB.GetByID(7)
	if !reflect.DeepEqual(orig, cp) {
		t.Errorf("receipt 7 differs in the backup:\n%+v\n%+v", orig, cp)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	s := startServer(t, newBackend(t), "")
	a := s.get(t, "/metrics", "")
	if a.code != http.StatusOK || !strings.Contains(a.body, "go_goroutines") || !strings.HasPrefix(a.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %q\n%.300s", a.code, a.header.Get("Content-Type"), a.body)
	}
}

func TestUnknownPath(t *testing.T) {
	t.Parallel()
	s := startServer(t, newBackend(t), "")
	if a := s.get(t, "/nosuch", ""); a.code != http.StatusNotFound {
		t.Errorf("/nosuch: %d", a.code)
	}
	if a := s.do(t, http.MethodDelete, "/api/receipts/1", "", nil, nil); a.code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %d", a.code)
	}
}

// A failure in the middle of a backup must not look like a whole file.
func TestBackupOfClosedStore(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	s := startServer(t, b, "")
	if err := b.db.Close(); err != nil {
		t.Fatal(err)
	}
	a := s.get(t, "/api/backup", "")
	if a.code != http.StatusInternalServerError || !bytes.Contains([]byte(a.body), []byte("status: backup: store: backup")) {
		t.Fatalf("backup of a closed store: %d %s", a.code, a.body)
	}
}
