package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// fillMixed creates receipts over two shops, several kinds and every state,
// and returns them as stored, oldest first.
func fillMixed(t *testing.T, db *DB) []Receipt {
	t.Helper()
	kinds := []Kind{"sale", "refund", "prepayment"}
	for _, shop := range []string{"alpha", "beta"} {
		var batch []Receipt
		for o := int64(1); o <= 30; o++ {
			for _, k := range kinds[:1+o%3] {
				r := intent(shop, o, k)
				r.OrderNumber = fmt.Sprint(100 + o%7) // numbers repeat across orders and shops
				if o%10 == 9 {
					r.State, r.Reason = StateSkipped, "cash"
				}
				if o%10 == 8 {
					r.State = StateDryRun
				}
				batch = append(batch, r)
			}
		}
		if _, err := db.SaveBatch(shop, batch, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Move some into other states.
	for _, shop := range []string{"alpha", "beta"} {
		for o := int64(1); o <= 30; o++ {
			k := Key{shop, o, "sale"}
			var err error
			switch o % 10 {
			case 1, 2, 3:
				err = db.MarkPrinted(k, fiscalFor(o), t0)
			case 4:
				err = db.MarkFailed(k, "permanent", "51", t0)
			case 5:
				err = db.MarkNeedsPerson(k, "ambiguous", "6", t0)
			case 6:
				err = db.RecordAttempt(k, "transient", "busy", t0.Add(time.Minute), t0)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	all, next, err := db.List(Filter{Limit: 1000})
	if err != nil || next != 0 {
		t.Fatal(next, err)
	}
	slices.Reverse(all)
	return all
}

func TestList(t *testing.T) {
	db := openTest(t)
	all := fillMixed(t, db)
	if len(all) < 100 {
		t.Fatalf("only %d receipts", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID <= all[i-1].ID {
			t.Fatal("ids not increasing")
		}
	}
	filters := []Filter{
		{},
		{Shop: "alpha"},
		{Shop: "beta", State: StatePrinted},
		{State: StatePending},
		{State: StateSkipped},
		{Kind: "refund"},
		{Shop: "alpha", Kind: "prepayment", State: StatePending},
		{OrderID: 7},
		{OrderID: 7, Shop: "beta"},
		{OrderID: 7, Kind: "refund"},
		{OrderNumber: "103"},
		{OrderNumber: "103", Shop: "alpha"},
		{OrderNumber: "103", State: StatePrinted},
		{Shop: "gamma"},
		{OrderNumber: "nope"},
	}
	for _, f := range filters {
		var want []Receipt
		for i := len(all) - 1; i >= 0; i-- {
			if f.match(&all[i]) {
				want = append(want, all[i])
			}
		}
		for _, limit := range []int{1, 3, 7, 1000} {
			f := f
			f.Limit = limit
			var got []Receipt
			pages := 0
			for {
				page, next, err := db.List(f)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if len(page) > limit {
					t.Fatalf("%+v: page of %d", f, len(page))
				}
				got = append(got, page...)
				if next == 0 {
					break
				}
				if next != page[len(page)-1].ID {
					t.Fatalf("%+v: next %d, last id %d", f, next, page[len(page)-1].ID)
				}
				f.Before = next
				if pages > len(all)+1 {
					t.Fatalf("%+v: pagination does not end", f)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("%+v: got %d receipts, want %d", f, len(got), len(want))
			}
			for i := range got {
				if !receiptsEqual(got[i], want[i]) {
					t.Fatalf("%+v: [%d] got %+v want %+v", f, i, got[i], want[i])
				}
			}
			// Exact pages: no empty last page.
			if len(want) > 0 && pages != (len(want)+limit-1)/limit {
				t.Fatalf("%+v: %d pages for %d receipts", f, pages, len(want))
			}
		}
	}
	// Limit defaults and caps.
	if got, _, _ := db.List(Filter{}); len(got) != 100 {
		t.Fatalf("default limit gave %d", len(got))
	}
	if _, _, err := db.List(Filter{State: "bogus"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad state: %v", err)
	}
}

func TestByOrderPendingCounts(t *testing.T) {
	db := openTest(t)
	all := fillMixed(t, db)
	got, err := db.ByOrder("alpha", 5)
	if err != nil {
		t.Fatal(err)
	}
	var want []Receipt
	for _, r := range all {
		if r.Shop == "alpha" && r.OrderID == 5 {
			want = append(want, r)
		}
	}
	if len(got) != len(want) || len(got) != 3 {
		t.Fatalf("ByOrder: %d receipts, want %d", len(got), len(want))
	}
	for i := range got {
		if !receiptsEqual(got[i], want[i]) {
			t.Fatalf("ByOrder[%d]: %+v", i, got[i])
		}
	}
	if got, err := db.ByOrder("alpha", 999); err != nil || len(got) != 0 {
		t.Fatalf("ByOrder of unknown order: %v %v", got, err)
	}

	pending, err := db.Pending()
	if err != nil {
		t.Fatal(err)
	}
	want = nil
	counts := map[string]map[State]int{"alpha": {}, "beta": {}, "": {}}
	for _, r := range all {
		if r.State == StatePending {
			want = append(want, r)
		}
		counts[r.Shop][r.State]++
		counts[""][r.State]++
	}
	if len(pending) != len(want) {
		t.Fatalf("Pending: %d, want %d", len(pending), len(want))
	}
	for i := range pending {
		if !receiptsEqual(pending[i], want[i]) {
			t.Fatalf("Pending[%d]: %+v", i, pending[i])
		}
	}
	for shop, w := range counts {
		for _, s := range States {
			w[s] += 0
		}
		c, err := db.Counts(shop)
		if err != nil {
			t.Fatal(err)
		}
		if !mapsEqual(c, w) {
			t.Fatalf("Counts(%q) = %v, want %v", shop, c, w)
		}
	}
	if _, err := db.Counts("gamma"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Counts of unknown shop: %v", err)
	}
}

func TestShopState(t *testing.T) {
	db := openTest(t)
	if _, err := db.Shop("a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown shop: %v", err)
	}
	start := Cursor{UpdatedAt: "2026-03-01T00:00:00.000+03:00"}
	st, err := db.InitShop("a", start, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !st.HasCursor || st.Cursor != start || !st.FirstStartAt.Equal(t0) || !st.LastPollAt.IsZero() {
		t.Fatalf("first init: %+v", st)
	}
	c := Cursor{UpdatedAt: "2026-03-02T10:11:12.000+03:00", ID: 123456789}
	if err := db.SetCursor("a", c); err != nil {
		t.Fatal(err)
	}
	st, err = db.InitShop("a", Cursor{UpdatedAt: "2020-01-01T00:00:00Z"}, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if st.Cursor != c || !st.FirstStartAt.Equal(t0) {
		t.Fatalf("second init changed the shop: %+v", st)
	}
	if err := db.SetPollResult("a", t0.Add(time.Minute), "insales: HTTP 503"); err != nil {
		t.Fatal(err)
	}
	st, _ = db.Shop("a")
	if !st.LastPollAt.Equal(t0.Add(time.Minute)) || st.LastPollError != "insales: HTTP 503" {
		t.Fatalf("after failed poll: %+v", st)
	}
	if err := db.SetPollResult("a", t0.Add(2*time.Minute), ""); err != nil {
		t.Fatal(err)
	}
	st, _ = db.Shop("a")
	if !st.LastPollAt.Equal(t0.Add(2*time.Minute)) || st.LastPollError != "" {
		t.Fatalf("after good poll: %+v", st)
	}
	// A shop with no cursor yet (only a poll result) gets one from InitShop.
	if err := db.SetPollResult("b", t0, "x"); err != nil {
		t.Fatal(err)
	}
	if st, _ := db.Shop("b"); st.HasCursor {
		t.Fatalf("b has a cursor: %+v", st)
	}
	if st, _ := db.InitShop("b", start, t0); !st.HasCursor || st.Cursor != start {
		t.Fatalf("b after init: %+v", st)
	}
	shops, err := db.Shops()
	if err != nil || !slices.Equal(shops, []string{"a", "b"}) {
		t.Fatalf("Shops: %v %v", shops, err)
	}
	if err := db.SetCursor("", c); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty shop: %v", err)
	}
}

func TestMeta(t *testing.T) {
	db := openTest(t)
	if _, err := db.Meta("x"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	v := []byte("value")
	if err := db.SetMeta("x", v); err != nil {
		t.Fatal(err)
	}
	v[0] = 'V'
	got, err := db.Meta("x")
	if err != nil || string(got) != "value" {
		t.Fatalf("%q %v", got, err)
	}
	if err := db.SetMeta("empty", nil); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Meta("empty"); err != nil || len(got) != 0 {
		t.Fatalf("%q %v", got, err)
	}
	if err := db.SetMeta("", v); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	if err := db.SetMeta("big", make([]byte, 65<<10)); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
}

// TestBackupWhileWriting takes a backup while other goroutines write, and
// proves the copy is a clean bbolt file and a clean store holding at least
// everything committed before the backup began.
func TestBackupWhileWriting(t *testing.T) {
	db := openTest(t)
	for i := int64(1); i <= 300; i++ {
		mustCreate(t, db, intent("shop", i, "sale"))
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 4)
	for w := int64(0); w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int64(1000 + w*10000); ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := db.Create(intent("shop", i, "sale")); err != nil {
					errs <- err
					return
				}
				if err := db.MarkPrinted(Key{"shop", i, "sale"}, fiscalFor(i), t0); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := db.Backup(f)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Size() != n || n == 0 {
		t.Fatalf("backup wrote %d bytes, file has %d", n, fi.Size())
	}
	// bbolt's own check.
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
	bdb.Close()
	if err != nil {
		t.Fatal("bbolt check of the backup:", err)
	}
	// And ours, with the data.
	bk, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer bk.Close()
	if err := bk.Check(); err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= 300; i++ {
		if r, err := bk.Get(Key{"shop", i, "sale"}); err != nil || !bytes.Equal(r.Body, body(r.Key, 1)) {
			t.Fatalf("order %d in backup: %v", i, err)
		}
	}
	if _, err := db.Backup(failingWriter{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("backup to a failing writer: %v", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestCheckFindsInconsistencies breaks the schema behind the store's back,
// one way at a time, and expects Check to name the problem.
func TestCheckFindsInconsistencies(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(root *bolt.Bucket) error
		want   string
	}{
		{"missing by_key entry", func(root *bolt.Bucket) error {
			return root.Bucket(bucketByKey).Delete(keyKey(Key{"shop", 2, "sale"}))
		}, "by_key entry of shop/2/sale"},
		{"stray pending entry", func(root *bolt.Bucket) error {
			return root.Bucket(bucketByState).Put(withID(statePrefix(StatePending), 999), nil)
		}, "by_state has 4 entries for 3 receipts"},
		{"wrong counter", func(root *bolt.Bucket) error {
			return root.Bucket(bucketShops).Bucket([]byte("shop")).Bucket(bucketCounts).Put([]byte(StatePending), []byte{0, 0, 0, 0, 0, 0, 0, 9})
		}, "shop shop counts 9 pending receipts, there are 2"},
		{"garbage record", func(root *bolt.Bucket) error {
			return root.Bucket(bucketReceipts).Put(id8(1), []byte{1, 2, 3})
		}, "receipt 1: value ends early"},
		{"printed without fiscal", func(root *bolt.Bucket) error {
			v := root.Bucket(bucketReceipts).Get(id8(1))
			r, err := decodeReceipt(v)
			if err != nil {
				return err
			}
			r.State = StatePrinted
			return root.Bucket(bucketReceipts).Put(id8(1), encodeReceipt(&r))
		}, "printed without a fiscal result"},
		{"schema version", func(root *bolt.Bucket) error {
			return root.Bucket(bucketMeta).Put(keySchemaVersion, []byte("x"))
		}, `schema_version is "x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "chekd.db")
			db, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for i := int64(1); i <= 3; i++ {
				mustCreate(t, db, intent("shop", i, "sale"))
			}
			if err := db.MarkPrinted(Key{"shop", 3, "sale"}, fiscalFor(3), t0); err != nil {
				t.Fatal(err)
			}
			if err := db.Check(); err != nil {
				t.Fatal(err)
			}
			if err := db.bolt.Update(func(tx *bolt.Tx) error { return tc.break_(tx.Bucket(bucketRoot)) }); err != nil {
				t.Fatal(err)
			}
			err = db.Check()
			db.Close()
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant it to mention %q", err, tc.want)
			}
		})
	}
}
