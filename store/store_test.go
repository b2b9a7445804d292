package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func openTest(t testing.TB) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "data", "chekd.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Check(); err != nil {
			t.Errorf("check at the end: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

// body is a request body shaped like a real Complex call, with non-ASCII text
// and bytes that are not valid UTF-8, to prove bytes come back exactly.
func body(k Key, gen int) []byte {
	return fmt.Appendf(nil, `{"RequestId":"%s-%d-%s-%d","Lines":[{"Qty":1000,"Price":150000,"Description":"Чайник \xff\x00"}]}`, k.Shop, k.OrderID, k.Kind, gen)
}

func intent(shop string, order int64, kind Kind) Receipt {
	k := Key{Shop: shop, OrderID: order, Kind: kind}
	return Receipt{
		Key:         k,
		OrderNumber: fmt.Sprint(1000 + order),
		RequestID:   fmt.Sprintf("%s-%d-%s", shop, order, kind),
		State:       StatePending,
		Body:        body(k, 1),
		Contact:     "buyer@example.com",
		Total:       150000 + order,
		CreatedAt:   t0.Add(time.Duration(order) * time.Second),
	}
}

func fiscalFor(order int64) Fiscal {
	return Fiscal{
		FiscalDocNumber: uint64(order) + 10, FiscalSign: 3000000000 + uint64(order),
		FNSerial: "9999078900012345", RegistrationNumber: "0000000001012345",
		DocNumber: uint64(order), Shift: 7, Date: t0.Add(time.Hour), QR: fmt.Sprintf("t=20260301T1100&s=%d", order),
		Total: 150000, FromCache: order%2 == 0,
	}
}

func mustCreate(t testing.TB, db *DB, r Receipt) Receipt {
	t.Helper()
	out, err := db.Create(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustGet(t testing.TB, db *DB, k Key) Receipt {
	t.Helper()
	r, err := db.Get(k)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestOpenCreatesPrivateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "chekd.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if db.Path() != path {
		t.Errorf("Path() = %q, want %q", db.Path(), path)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", di.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the database (temporary file left?)", len(entries))
	}
	// The schema is there, readable by plain bbolt.
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	err = bdb.View(func(tx *bolt.Tx) error {
		v := tx.Bucket([]byte("v1")).Bucket([]byte("meta")).Get([]byte("schema_version"))
		if string(v) != "1" {
			t.Errorf("schema_version %q", v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chekd.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := mustCreate(t, db, intent("s", 1, "sale"))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got := mustGet(t, db, r.Key)
	if got.ID != r.ID || !bytes.Equal(got.Body, r.Body) {
		t.Fatalf("after reopen got %+v", got)
	}
	// IDs keep increasing across reopen.
	r2 := mustCreate(t, db, intent("s", 2, "sale"))
	if r2.ID <= r.ID {
		t.Fatalf("id %d after %d", r2.ID, r.ID)
	}
}

func TestOpenLockedByAnother(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chekd.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// flock is per open file, so a second Open in this process competes
	// for the lock exactly as another process would.
	_, err = Open(path, Options{Timeout: 50 * time.Millisecond})
	want := fmt.Sprintf("store: %s is locked by another chekd process (waited 50ms); stop it or use another data_dir", path)
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	_, err = Open(path, Options{ReadOnly: true, Timeout: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "is locked by another chekd process") {
		t.Fatalf("read-only open while locked: %v", err)
	}
}

func TestReadOnly(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing.db"), Options{ReadOnly: true}); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("read-only open of a missing file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("read-only open created the file")
	}
	path := filepath.Join(dir, "chekd.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := mustCreate(t, db, intent("s", 1, "sale"))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ro1, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro1.Close()
	ro2, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal("two readers must share the file:", err)
	}
	defer ro2.Close()
	if got := mustGet(t, ro2, r.Key); got.ID != r.ID {
		t.Fatal(got)
	}
	if err := ro1.Check(); err != nil {
		t.Fatal(err)
	}
	if _, err := ro1.Create(intent("s", 2, "sale")); err == nil {
		t.Fatal("create on a read-only store succeeded")
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// validDB returns the bytes of a store with some receipts in it.
func validDB(t *testing.T, n int) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "valid.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var batch []Receipt
	for i := 1; i <= n; i++ {
		batch = append(batch, intent("shop", int64(i), "sale"))
	}
	if _, err := db.SaveBatch("shop", batch, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestOpenRejectsForeignAndDamagedFiles(t *testing.T) {
	valid := validDB(t, 200)
	random := make([]byte, 64<<10)
	for i := range random {
		random[i] = byte(i*7919 + i>>8)
	}
	foreign := func(t *testing.T, path string) {
		bdb, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = bdb.Update(func(tx *bolt.Tx) error {
			_, err := tx.CreateBucket([]byte("widgets"))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		bdb.Close()
	}
	newer := func(t *testing.T, path string) {
		writeFile(t, path, valid)
		bdb, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = bdb.Update(func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("v1")).Bucket([]byte("meta")).Put([]byte("schema_version"), []byte("2"))
		})
		if err != nil {
			t.Fatal(err)
		}
		bdb.Close()
	}
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
		want    string
	}{
		{"zero-length", func(t *testing.T, p string) { writeFile(t, p, nil) }, "is not a chekd database (the file is empty)"},
		{"text", func(t *testing.T, p string) { writeFile(t, p, []byte("data_dir: /var/lib/chekd\n")) }, "is not a chekd database"},
		{"random bytes", func(t *testing.T, p string) { writeFile(t, p, random) }, "is not a chekd database"},
		{"first 100 bytes", func(t *testing.T, p string) { writeFile(t, p, valid[:100]) }, "chekd database"},
		{"first two pages", func(t *testing.T, p string) { writeFile(t, p, valid[:8192]) }, "truncated"},
		{"half", func(t *testing.T, p string) { writeFile(t, p, valid[:len(valid)/2]) }, "truncated"},
		{"both headers zeroed", func(t *testing.T, p string) {
			d := slices.Clone(valid)
			clear(d[:8192])
			writeFile(t, p, d)
		}, "is not a chekd database"},
		{"other bbolt file", foreign, `a bbolt file without the "v1" bucket; it has ["widgets"]`},
		{"newer schema", newer, "store: schema version 2 is newer than this chekd understands"},
		{"a directory", func(t *testing.T, p string) {
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "chekd.db")
			tc.prepare(t, path)
			for _, ro := range []bool{false, true} {
				db, err := Open(path, Options{ReadOnly: ro})
				if err == nil {
					db.Close()
					t.Fatalf("read-only %v: Open succeeded", ro)
				}
				if !strings.HasPrefix(err.Error(), "store: ") || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("read-only %v: got %q, want it to contain %q", ro, err, tc.want)
				}
			}
		})
	}
}

// TestDamagedPagesGiveErrors overwrites data pages of a valid file with
// garbage: Open may succeed (the headers are fine), but Check must report
// the damage and no call may panic.
func TestDamagedPagesGiveErrors(t *testing.T) {
	valid := validDB(t, 300)
	pages := len(valid) / 4096
	patterns := map[string]func(p []byte){
		"zeros": func(p []byte) { clear(p) },
		"ones": func(p []byte) {
			for i := range p {
				p[i] = 0xff
			}
		},
		"counter": func(p []byte) {
			for i := range p {
				p[i] = byte(i)
			}
		},
	}
	reported := 0
	for name, fill := range patterns {
		for pg := 2; pg < pages; pg++ {
			d := slices.Clone(valid)
			fill(d[pg*4096 : (pg+1)*4096])
			path := filepath.Join(t.TempDir(), "chekd.db")
			writeFile(t, path, d)
			db, err := Open(path, Options{})
			if err != nil {
				if !strings.HasPrefix(err.Error(), "store: ") {
					t.Fatalf("%s page %d: %v", name, pg, err)
				}
				// A failed open must not keep the file locked.
				if _, err2 := Open(path, Options{Timeout: 10 * time.Millisecond}); err2 == nil || strings.Contains(err2.Error(), "locked") {
					t.Fatalf("%s page %d: open after a failed open: %v", name, pg, err2)
				}
				reported++
				continue
			}
			cerr := db.Check()
			// Queries must answer with data or an error, never panic.
			_, _ = db.Pending()
			_, _, _ = db.List(Filter{Limit: 1000})
			_, _ = db.Counts("")
			_, _ = db.Shops()
			if cerr != nil {
				reported++
				if !errors.Is(cerr, ErrDamaged) {
					t.Errorf("%s page %d: check error %v does not wrap ErrDamaged", name, pg, cerr)
				}
			}
			db.Close()
		}
	}
	// A page may be free (unused), so not every overwrite is damage; but
	// most pages of a freshly filled file are in use.
	if reported < pages {
		t.Fatalf("only %d of %d damaged files were reported", reported, 3*(pages-2))
	}
}

func TestCreateAndGet(t *testing.T) {
	db := openTest(t)
	in := intent("shop", 42, "sale")
	in.Generation = 0
	orig := slices.Clone(in.Body)
	out := mustCreate(t, db, in)
	in.Body[0] = 'X' // the store kept its own copy
	if out.ID == 0 || out.Generation != 1 || !out.CreatedAt.Equal(in.CreatedAt) || !out.UpdatedAt.Equal(in.CreatedAt) {
		t.Fatalf("create returned %+v", out)
	}
	got := mustGet(t, db, in.Key)
	if !bytes.Equal(got.Body, orig) {
		t.Fatalf("body changed:\n%q\n%q", got.Body, orig)
	}
	want := out
	want.Body = orig
	if !receiptsEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	byID, err := db.GetByID(out.ID)
	if err != nil || !receiptsEqual(byID, want) {
		t.Fatalf("GetByID: %+v, %v", byID, err)
	}
	if _, err := db.GetByID(out.ID + 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetByID of a missing id: %v", err)
	}
	if _, err := db.Get(Key{"shop", 42, "refund"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a missing key: %v", err)
	}
	// A zero CreatedAt becomes now.
	in2 := intent("shop", 43, "sale")
	in2.CreatedAt = time.Time{}
	before := time.Now()
	out2 := mustCreate(t, db, in2)
	if out2.CreatedAt.Before(before.Add(-time.Second)) || out2.ID <= out.ID {
		t.Fatalf("second create: %+v", out2)
	}
}

func receiptsEqual(a, b Receipt) bool {
	return reflect.DeepEqual(normalize(a), normalize(b))
}

// normalize makes equal receipts DeepEqual: times in UTC without monotonic
// readings, empty bodies nil.
func normalize(r Receipt) Receipt {
	r.NextAttemptAt, r.CreatedAt, r.UpdatedAt, r.PrintedAt = r.NextAttemptAt.UTC(), r.CreatedAt.UTC(), r.UpdatedAt.UTC(), r.PrintedAt.UTC()
	if len(r.Body) == 0 {
		r.Body = nil
	}
	if r.Fiscal != nil {
		f := *r.Fiscal
		f.Date = f.Date.UTC()
		r.Fiscal = &f
	}
	return r
}

func TestCreateValidation(t *testing.T) {
	db := openTest(t)
	mod := func(f func(r *Receipt)) Receipt {
		r := intent("shop", 1, "sale")
		f(&r)
		return r
	}
	tests := []struct {
		name string
		r    Receipt
		want string
	}{
		{"empty shop", mod(func(r *Receipt) { r.Shop = "" }), "empty shop name"},
		{"NUL in shop", mod(func(r *Receipt) { r.Shop = "a\x00b" }), "contains a NUL byte"},
		{"long shop", mod(func(r *Receipt) { r.Shop = strings.Repeat("s", 201) }), "at most 200"},
		{"zero order", mod(func(r *Receipt) { r.OrderID = 0 }), "order id 0"},
		{"negative order", mod(func(r *Receipt) { r.OrderID = -5 }), "order id -5"},
		{"empty kind", mod(func(r *Receipt) { r.Kind = "" }), "empty kind"},
		{"NUL in number", mod(func(r *Receipt) { r.OrderNumber = "1\x00" }), "contains a NUL byte"},
		{"empty state", mod(func(r *Receipt) { r.State = "" }), "empty state"},
		{"printed state", mod(func(r *Receipt) { r.State = StatePrinted }), `not "printed"`},
		{"failed state", mod(func(r *Receipt) { r.State = StateFailed }), `not "failed"`},
		{"unknown state", mod(func(r *Receipt) { r.State = "done" }), `not "done"`},
		{"pending without body", mod(func(r *Receipt) { r.Body = nil }), "needs a RequestID and a body"},
		{"pending without request id", mod(func(r *Receipt) { r.RequestID = "" }), "needs a RequestID and a body"},
		{"negative generation", mod(func(r *Receipt) { r.Generation = -1 }), "generation -1"},
		{"with fiscal", mod(func(r *Receipt) { f := fiscalFor(1); r.Fiscal = &f }), "no fiscal result"},
		{"with attempts", mod(func(r *Receipt) { r.Attempts = 2 }), "no attempts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.Create(tc.r)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "store: ") {
				t.Fatalf("got %v, want ErrInvalid with %q", err, tc.want)
			}
		})
	}
	if n, _, err := db.List(Filter{}); err != nil || len(n) != 0 {
		t.Fatalf("invalid intents left records: %v %v", n, err)
	}
	// Skipped and dry_run intents need no body.
	for i, s := range []State{StateSkipped, StateDryRun, StateNeedsPerson} {
		r := intent("shop", int64(10+i), "sale")
		r.State, r.Body, r.RequestID, r.Reason = s, nil, "", "why"
		if _, err := db.Create(r); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestCreateExistingAndReplaceSkipped(t *testing.T) {
	db := openTest(t)
	for _, s := range []State{StatePending, StateDryRun, StateNeedsPerson} {
		r := intent("shop", 1, Kind("k-"+s))
		r.State = s
		first := mustCreate(t, db, r)
		_, err := db.Create(r)
		if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), r.Key.String()) {
			t.Fatalf("%s: second create: %v", s, err)
		}
		if got := mustGet(t, db, r.Key); got.ID != first.ID {
			t.Fatalf("%s: record changed to %+v", s, got)
		}
	}
	// A printed or failed record is not replaceable either.
	p := mustCreate(t, db, intent("shop", 2, "sale"))
	if err := db.MarkPrinted(p.Key, fiscalFor(2), t0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Create(intent("shop", 2, "sale")); !errors.Is(err, ErrExists) {
		t.Fatalf("create over printed: %v", err)
	}

	sk := intent("shop", 3, "sale")
	sk.State, sk.Reason, sk.Body = StateSkipped, "cash on delivery", nil
	old := mustCreate(t, db, sk)
	repl := mustCreate(t, db, intent("shop", 3, "sale"))
	if repl.ID <= old.ID || repl.State != StatePending {
		t.Fatalf("replacement %+v of %+v", repl, old)
	}
	if _, err := db.GetByID(old.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("replaced skipped record still there: %v", err)
	}
	if got := mustGet(t, db, sk.Key); got.ID != repl.ID {
		t.Fatalf("key points to %d, want %d", got.ID, repl.ID)
	}
	c, err := db.Counts("shop")
	if err != nil {
		t.Fatal(err)
	}
	want := map[State]int{StatePending: 2, StatePrinted: 1, StateFailed: 0, StateSkipped: 0, StateDryRun: 1, StateNeedsPerson: 1}
	if !mapsEqual(c, want) {
		t.Fatalf("counts %v, want %v", c, want)
	}
}

func mapsEqual(a, b map[State]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestSaveBatchIsAtomic(t *testing.T) {
	db := openTest(t)
	mustCreate(t, db, intent("shop", 5, "sale"))
	batch := []Receipt{intent("shop", 4, "sale"), intent("shop", 5, "sale"), intent("shop", 6, "sale")}
	cur := &Cursor{UpdatedAt: "2026-03-01T10:00:00.000+03:00", ID: 6}
	_, err := db.SaveBatch("shop", batch, cur)
	if !errors.Is(err, ErrExists) {
		t.Fatalf("got %v, want ErrExists", err)
	}
	for _, o := range []int64{4, 6} {
		if _, err := db.Get(Key{"shop", o, "sale"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("order %d created by a failed batch: %v", o, err)
		}
	}
	if st, err := db.Shop("shop"); err != nil || st.HasCursor {
		t.Fatalf("cursor stored by a failed batch: %+v %v", st, err)
	}

	batch = []Receipt{intent("shop", 4, "sale"), intent("shop", 6, "sale"), intent("shop", 6, "refund")}
	out, err := db.SaveBatch("shop", batch, cur)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range out {
		if r.Key != batch[i].Key || (i > 0 && r.ID <= out[i-1].ID) {
			t.Fatalf("out[%d] = %+v", i, r)
		}
	}
	st, err := db.Shop("shop")
	if err != nil || !st.HasCursor || st.Cursor != *cur {
		t.Fatalf("shop state %+v %v", st, err)
	}
	// A page with no new receipts still moves the cursor.
	cur2 := Cursor{UpdatedAt: "2026-03-01T10:05:00.000+03:00", ID: 9}
	if _, err := db.SaveBatch("shop", nil, &cur2); err != nil {
		t.Fatal(err)
	}
	if st, _ := db.Shop("shop"); st.Cursor != cur2 {
		t.Fatalf("cursor %+v", st.Cursor)
	}
	// Intents of another shop, or twice the same key, are refused.
	if _, err := db.SaveBatch("other", []Receipt{intent("shop", 7, "sale")}, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("foreign intent: %v", err)
	}
	if _, err := db.SaveBatch("shop", []Receipt{intent("shop", 7, "sale"), intent("shop", 7, "sale")}, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("duplicate intent: %v", err)
	}
}

func TestTransitions(t *testing.T) {
	type op func(db *DB, k Key) error
	printed := func(db *DB, k Key) error { return db.MarkPrinted(k, fiscalFor(k.OrderID), t0.Add(time.Minute)) }
	attempt := func(db *DB, k Key) error {
		return db.RecordAttempt(k, "transient", "FCE 18: register busy", t0.Add(2*time.Minute), t0.Add(time.Minute))
	}
	failed := func(db *DB, k Key) error { return db.MarkFailed(k, "permanent", "error 51", t0.Add(time.Minute)) }
	person := func(db *DB, k Key) error { return db.MarkNeedsPerson(k, "ambiguous", "FCE 6", t0.Add(time.Minute)) }
	requeue := func(db *DB, k Key) error {
		r, err := db.Get(k)
		if err != nil {
			return err
		}
		_, err = db.Requeue(k, r.Generation+1, r.RequestID+"-2", body(k, 2), t0.Add(time.Minute))
		return err
	}
	// setup brings a fresh pending record into a state.
	setup := map[State][]op{
		StatePending:     nil,
		StatePrinted:     {printed},
		StateFailed:      {failed},
		StateNeedsPerson: {person},
		StateSkipped:     nil,
		StateDryRun:      nil,
	}
	ops := map[string]op{"printed": printed, "attempt": attempt, "failed": failed, "needs_person": person, "requeue": requeue}
	// allowed[from][op] = resulting state; absent = ErrTransition.
	allowed := map[State]map[string]State{
		StatePending:     {"printed": StatePrinted, "attempt": StatePending, "failed": StateFailed, "needs_person": StateNeedsPerson},
		StateNeedsPerson: {"printed": StatePrinted, "requeue": StatePending},
		StateFailed:      {"requeue": StatePending},
		StatePrinted:     {},
		StateSkipped:     {},
		StateDryRun:      {},
	}
	db := openTest(t)
	var order int64
	for from, steps := range setup {
		for name, fn := range ops {
			order++
			r := intent("shop", order, "sale")
			if from == StateSkipped || from == StateDryRun {
				r.State = from
			}
			mustCreate(t, db, r)
			for _, s := range steps {
				if err := s(db, r.Key); err != nil {
					t.Fatal(err)
				}
			}
			before := mustGet(t, db, r.Key)
			err := fn(db, r.Key)
			after := mustGet(t, db, r.Key)
			want, ok := allowed[from][name]
			if !ok {
				if !errors.Is(err, ErrTransition) {
					t.Errorf("%s → %s: got %v, want ErrTransition", from, name, err)
				}
				if !receiptsEqual(before, after) {
					t.Errorf("%s → %s: refused transition changed the record", from, name)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s → %s: %v", from, name, err)
				continue
			}
			if after.State != want || !after.UpdatedAt.Equal(t0.Add(time.Minute)) || after.ID != before.ID {
				t.Errorf("%s → %s: got %+v", from, name, after)
			}
			if err := checkRecord(&after); err != nil {
				t.Errorf("%s → %s: %v", from, name, err)
			}
		}
	}
	if err := printed(db, Key{"shop", 999, "sale"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing key: %v", err)
	}
	if err := printed(db, Key{"", 1, "sale"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad key: %v", err)
	}
}

func TestTransitionFields(t *testing.T) {
	db := openTest(t)
	r := mustCreate(t, db, intent("shop", 1, "sale"))
	next := t0.Add(5 * time.Minute)
	if err := db.RecordAttempt(r.Key, "unknown", "timeout", next, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordAttempt(r.Key, "transient", "FCE 18", next.Add(time.Minute), t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, db, r.Key)
	if got.Attempts != 2 || got.LastClass != "transient" || got.LastError != "FCE 18" || !got.NextAttemptAt.Equal(next.Add(time.Minute)) || !bytes.Equal(got.Body, r.Body) || got.RequestID != r.RequestID {
		t.Fatalf("after attempts: %+v", got)
	}
	f := fiscalFor(1)
	f.Date = time.Date(2026, 3, 1, 11, 0, 0, 0, time.FixedZone("MSK", 3*3600))
	if err := db.MarkPrinted(r.Key, f, t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	got = mustGet(t, db, r.Key)
	if got.Attempts != 3 || got.Fiscal == nil || got.Fiscal.FiscalSign != f.FiscalSign || !got.Fiscal.Date.Equal(f.Date) ||
		!got.PrintedAt.Equal(t0.Add(3*time.Minute)) || !got.NextAttemptAt.IsZero() || !bytes.Equal(got.Body, r.Body) {
		t.Fatalf("after printed: %+v %+v", got, got.Fiscal)
	}
	err := db.MarkPrinted(r.Key, f, t0.Add(4*time.Minute))
	if !errors.Is(err, ErrTransition) || !strings.Contains(err.Error(), "printed, which is final") {
		t.Fatalf("second MarkPrinted: %v", err)
	}

	// needs_person keeps its reason; a person can confirm the receipt.
	r2 := mustCreate(t, db, intent("shop", 2, "sale"))
	if err := db.MarkNeedsPerson(r2.Key, "ambiguous", "FCE 6: check the register", t0); err != nil {
		t.Fatal(err)
	}
	got = mustGet(t, db, r2.Key)
	if got.Reason != "FCE 6: check the register" || got.LastClass != "ambiguous" || got.Attempts != 1 {
		t.Fatalf("needs_person: %+v", got)
	}
	if err := db.MarkPrinted(r2.Key, fiscalFor(2), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got = mustGet(t, db, r2.Key); got.State != StatePrinted || got.Attempts != 1 {
		t.Fatalf("confirmed: %+v", got)
	}
}

func TestRequeue(t *testing.T) {
	db := openTest(t)
	r := mustCreate(t, db, intent("shop", 1, "sale"))
	if _, err := db.Requeue(r.Key, 2, "x-2", body(r.Key, 2), t0); !errors.Is(err, ErrTransition) {
		t.Fatalf("requeue of pending: %v", err)
	}
	if err := db.MarkFailed(r.Key, "permanent", "register error 51", t0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		gen  int
		rid  string
		want string
	}{
		{1, "x-2", "must give 2, not 1"},
		{3, "x-2", "must give 2, not 3"},
		{2, r.RequestID, "needs a new RequestID"},
	} {
		_, err := db.Requeue(r.Key, tc.gen, tc.rid, body(r.Key, 2), t0)
		if !errors.Is(err, ErrTransition) || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("requeue %d %s: %v", tc.gen, tc.rid, err)
		}
	}
	if _, err := db.Requeue(r.Key, 2, "x-2", nil, t0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("requeue without body: %v", err)
	}
	nb := body(r.Key, 2)
	out, err := db.Requeue(r.Key, 2, r.RequestID+"-2", nb, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	nb[0] = 'X'
	got := mustGet(t, db, r.Key)
	if !receiptsEqual(got, out) || got.State != StatePending || got.Generation != 2 || got.RequestID != r.RequestID+"-2" ||
		!bytes.Equal(got.Body, body(r.Key, 2)) || got.Attempts != 0 || got.LastError != "" || got.ID != r.ID {
		t.Fatalf("requeued: %+v", got)
	}
	p, err := db.Pending()
	if err != nil || len(p) != 1 || p[0].ID != r.ID {
		t.Fatalf("pending after requeue: %+v %v", p, err)
	}
}

func TestConcurrentTransitionsShareBatches(t *testing.T) {
	db := openTest(t)
	const n = 200
	var intents []Receipt
	for i := int64(1); i <= n; i++ {
		intents = append(intents, intent("shop", i, "sale"))
	}
	if _, err := db.SaveBatch("shop", intents, nil); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := int64(1); i <= n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := Key{"shop", i, "sale"}
			switch i % 4 {
			case 0:
				errs <- db.MarkPrinted(k, fiscalFor(i), t0)
				// The second one loses: printed is final.
				if err := db.MarkPrinted(k, fiscalFor(i), t0); !errors.Is(err, ErrTransition) {
					errs <- fmt.Errorf("second MarkPrinted of %d: %v", i, err)
				}
			case 1:
				errs <- db.MarkFailed(k, "permanent", "51", t0)
			case 2:
				errs <- db.RecordAttempt(k, "transient", "busy", t0, t0)
			case 3:
				errs <- db.MarkNeedsPerson(k, "ambiguous", "6", t0)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	c, err := db.Counts("shop")
	if err != nil {
		t.Fatal(err)
	}
	want := map[State]int{StatePrinted: n / 4, StateFailed: n / 4, StatePending: n / 4, StateNeedsPerson: n / 4, StateSkipped: 0, StateDryRun: 0}
	if !mapsEqual(c, want) {
		t.Fatalf("counts %v, want %v", c, want)
	}
	for i := int64(1); i <= n; i++ {
		r := mustGet(t, db, Key{"shop", i, "sale"})
		if r.Attempts != 1 {
			t.Fatalf("order %d: %d attempts (a batched function ran twice into the record?)", i, r.Attempts)
		}
	}
}

func TestReplaceBodyOnlyAfterAConfigurationRefusal(t *testing.T) {
	db := openTest(t)
	r := mustCreate(t, db, intent("shop", 1, "sale"))
	nb := []byte(`{"RequestId":"x","Password":2}`)
	if _, err := db.ReplaceBody(r.Key, nb, t0); !errors.Is(err, ErrTransition) {
		t.Fatalf("a pending receipt never refused: %v", err)
	}
	if err := db.RecordAttempt(r.Key, "unknown", "timeout", t0, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ReplaceBody(r.Key, nb, t0); !errors.Is(err, ErrTransition) {
		t.Fatalf("after an unknown outcome the bytes must stay: %v", err)
	}
	if err := db.RecordAttempt(r.Key, "config", "register error 79", t0, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ReplaceBody(r.Key, nil, t0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty body: %v", err)
	}
	out, err := db.ReplaceBody(r.Key, nb, t0)
	if err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, db, r.Key)
	if !bytes.Equal(got.Body, nb) || got.RequestID != r.RequestID || got.State != StatePending || !receiptsEqual(got, out) {
		t.Fatalf("replaced: %+v", got)
	}
	if err := db.MarkPrinted(r.Key, Fiscal{FiscalDocNumber: 1}, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ReplaceBody(r.Key, nb, t0); !errors.Is(err, ErrTransition) {
		t.Fatalf("a printed receipt: %v", err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}
