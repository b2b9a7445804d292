package store

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzDecodeReceipt feeds arbitrary bytes to the record decoder (the file is
// outside data: it may be damaged). It must return an error or a record that
// encodes back to the same bytes.
func FuzzDecodeReceipt(f *testing.F) {
	r := intent("shop", 7, "sale")
	r.ID = 99
	f.Add(encodeReceipt(&r))
	r.State, r.Fiscal, r.PrintedAt, r.UpdatedAt = StatePrinted, ptr(fiscalFor(7)), t0, t0
	f.Add(encodeReceipt(&r))
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decodeReceipt(data)
		if err != nil {
			return
		}
		if again := encodeReceipt(&r); !bytes.Equal(again, data) {
			// Different bytes are fine only if they decode to the same record
			// (a varint may be written in more than one way).
			r2, err := decodeReceipt(again)
			if err != nil || !receiptsEqual(r, r2) {
				t.Fatalf("round trip changed the record: %v\n%+v\n%+v", err, r, r2)
			}
		}
	})
}

// FuzzDecodeCursor does the same for the stored cursor and times.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(Cursor{UpdatedAt: "2026-03-01T10:00:00.000+03:00", ID: 5}))
	f.Add(encodeTime(t0))
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		if c, err := decodeCursor(data); err == nil {
			if c2, err := decodeCursor(encodeCursor(c)); err != nil || c2 != c {
				t.Fatalf("cursor round trip: %+v %+v %v", c, c2, err)
			}
		}
		if tm, err := decodeTime(data); err == nil && len(data) > 0 {
			if tm2, err := decodeTime(encodeTime(tm)); err != nil || !tm2.Equal(tm) {
				t.Fatalf("time round trip: %v %v %v", tm, tm2, err)
			}
		}
	})
}

// FuzzOpen opens mutated database files: Open, Check and the queries must
// answer with data or an error, never panic or hang.
func FuzzOpen(f *testing.F) {
	dir := f.TempDir()
	seedPath := filepath.Join(dir, "seed.db")
	db, err := Open(seedPath, Options{})
	if err != nil {
		f.Fatal(err)
	}
	for i := int64(1); i <= 5; i++ {
		if _, err := db.Create(intent("shop", i, "sale")); err != nil {
			f.Fatal(err)
		}
	}
	if err := db.MarkPrinted(Key{"shop", 1, "sale"}, fiscalFor(1), t0); err != nil {
		f.Fatal(err)
	}
	db.Close()
	seed, err := os.ReadFile(seedPath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:4096*3])
	f.Add([]byte("not a database"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "chekd.db")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := Open(path, Options{Timeout: 100 * time.Millisecond})
		if err != nil {
			return
		}
		defer db.Close()
		if err := db.Check(); err != nil {
			return
		}
		// A file that checks clean answers queries.
		if _, err := db.Pending(); err != nil {
			t.Fatalf("clean file, Pending: %v", err)
		}
		if _, _, err := db.List(Filter{}); err != nil {
			t.Fatalf("clean file, List: %v", err)
		}
	})
}

func ptr[T any](v T) *T { return &v }
