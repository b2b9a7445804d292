package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the whole database to w while the store
// keeps working (a read transaction), and returns the bytes written. The copy
// is a bbolt file that Open and bbolt's own check accept.
func (db *DB) Backup(w io.Writer) (int64, error) {
	var n int64
	err := db.guard(func() error {
		return db.bolt.View(func(tx *bolt.Tx) error {
			var err error
			n, err = tx.WriteTo(w)
			return err
		})
	})
	if err != nil {
		return n, fmt.Errorf("store: backup %s: %w", db.path, err)
	}
	return n, nil
}

// maxProblems is how many problems Check reports in detail.
const maxProblems = 20

type problems struct {
	list []error
	n    int
}

func (p *problems) add(format string, args ...any) {
	p.n++
	if len(p.list) < maxProblems {
		p.list = append(p.list, fmt.Errorf(format, args...))
	}
}

func (p *problems) err(path string) error {
	if p.n == 0 {
		return nil
	}
	if p.n > len(p.list) {
		p.list = append(p.list, fmt.Errorf("and %d more", p.n-len(p.list)))
	}
	return fmt.Errorf("store: check %s: %w: %d problem(s): %w", path, ErrDamaged, p.n, errors.Join(p.list...))
}

// Check verifies the whole file: every record decodes and is in a possible
// state, every index entry and counter agrees with the records, and bbolt's
// own page check passes. It reads everything, so it takes time in proportion
// to the file; writers wait while it runs (bbolt's check is only safe without
// concurrent writers).
func (db *DB) Check() error {
	var p problems
	err := db.guard(func() error {
		tx, err := db.bolt.Begin(!db.readOnly)
		if err != nil {
			return fmt.Errorf("store: check %s: %w", db.path, err)
		}
		defer func() { _ = tx.Rollback() }()
		// Our walk first: it reads every page of the schema with memory
		// faults turned into errors, so bbolt's check, which runs in its own
		// goroutine, meets no page that cannot be read.
		verify(openBuckets(tx), &p)
		if p.n > 0 {
			return nil
		}
		for cerr := range tx.Check() {
			p.add("bbolt: %w", cerr)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return p.err(db.path)
}

// checkRecord reports a record whose fields contradict its state.
func checkRecord(r *Receipt) error {
	if err := checkKey(r.Key); err != nil {
		return err
	}
	if r.Generation < 1 {
		return fmt.Errorf("generation %d", r.Generation)
	}
	if r.CreatedAt.IsZero() || r.UpdatedAt.IsZero() {
		return errors.New("no creation or update time")
	}
	switch r.State {
	case StatePrinted:
		if r.Fiscal == nil || r.PrintedAt.IsZero() || r.RequestID == "" || len(r.Body) == 0 {
			return errors.New("printed without a fiscal result, print time, RequestID or body")
		}
	case StatePending:
		if r.RequestID == "" || len(r.Body) == 0 {
			return errors.New("pending without a RequestID or body")
		}
		fallthrough
	default:
		if r.Fiscal != nil || !r.PrintedAt.IsZero() {
			return fmt.Errorf("%s with a fiscal result", r.State)
		}
	}
	return nil
}

// verify checks records against indexes and counters. Each record's index
// entries must exist; then equal entry counts prove there are no others.
func verify(b *buckets, p *problems) {
	if v := string(b.meta.Get(keySchemaVersion)); v != strconv.Itoa(SchemaVersion) {
		p.add("schema_version is %q", v)
	}
	type sk struct {
		shop  string
		state State
	}
	counts := map[sk]uint64{}
	var records, numbered int
	var maxID uint64
	c := b.receipts.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		records++
		if len(k) != 8 {
			p.add("receipts: key %x is not an id", k)
			continue
		}
		id := binary.BigEndian.Uint64(k)
		maxID = max(maxID, id)
		r, err := decodeReceipt(v)
		if err != nil {
			p.add("receipt %d: %w", id, err)
			continue
		}
		if r.ID != id {
			p.add("receipt %d says it is %d", id, r.ID)
		}
		if err := checkRecord(&r); err != nil {
			p.add("receipt %d (%s): %w", id, r.Key, err)
			continue
		}
		counts[sk{r.Shop, r.State}]++
		if got := b.byKey.Get(keyKey(r.Key)); len(got) != 8 || binary.BigEndian.Uint64(got) != id {
			p.add("receipt %d: by_key entry of %s is %x", id, r.Key, got)
		}
		if b.byShop.Get(withID(shopPrefix(r.Shop), id)) == nil {
			p.add("receipt %d: no by_shop entry", id)
		}
		if b.byState.Get(withID(statePrefix(r.State), id)) == nil {
			p.add("receipt %d: no by_state entry for %s", id, r.State)
		}
		if b.byShopState.Get(withID(shopStatePrefix(r.Shop, r.State), id)) == nil {
			p.add("receipt %d: no by_shop_state entry for %s", id, r.State)
		}
		if r.OrderNumber != "" {
			numbered++
			if b.byNumber.Get(withID(numberPrefix(r.OrderNumber, r.Shop), id)) == nil {
				p.add("receipt %d: no by_number entry", id)
			}
		}
	}
	if seq := b.receipts.Sequence(); seq < maxID {
		p.add("receipts: sequence %d is below the highest id %d", seq, maxID)
	}
	for _, ix := range []struct {
		name string
		bk   *bolt.Bucket
		want int
	}{
		{"by_key", b.byKey, records},
		{"by_shop", b.byShop, records},
		{"by_state", b.byState, records},
		{"by_shop_state", b.byShopState, records},
		{"by_number", b.byNumber, numbered},
	} {
		if n := ix.bk.Stats().KeyN; n != ix.want {
			p.add("%s has %d entries for %d receipts", ix.name, n, ix.want)
		}
	}
	err := b.shops.ForEachBucket(func(name []byte) error {
		sb := b.shops.Bucket(name)
		if _, err := b.readShop(string(name), sb); err != nil {
			p.add("%w", err)
		}
		cb := sb.Bucket(bucketCounts)
		if cb == nil {
			p.add("shop %s has no counts bucket", name)
			return nil
		}
		for _, s := range States {
			var got uint64
			if v := cb.Get([]byte(s)); len(v) == 8 {
				got = binary.BigEndian.Uint64(v)
			} else if v != nil {
				p.add("count of %s/%s is %d bytes", name, s, len(v))
			}
			want := counts[sk{string(name), s}]
			delete(counts, sk{string(name), s})
			if got != want {
				p.add("shop %s counts %d %s receipts, there are %d", name, got, s, want)
			}
		}
		return nil
	})
	if err != nil {
		p.add("shops: %w", err)
	}
	for k, n := range counts {
		p.add("%d %s receipts of shop %s are not counted", n, k.state, k.shop)
	}
}
