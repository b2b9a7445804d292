package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Limits on text that goes into keys. bbolt keys may be up to 32 KiB; these
// are far below and far above anything real.
const (
	maxShopLen   = 200
	maxKindLen   = 64
	maxNumberLen = 200
)

func checkText(what, v string, max int, required bool) error {
	switch {
	case v == "" && required:
		return fmt.Errorf("%w: empty %s", ErrInvalid, what)
	case len(v) > max:
		return fmt.Errorf("%w: %s is %d bytes, at most %d", ErrInvalid, what, len(v), max)
	case strings.IndexByte(v, 0) >= 0:
		return fmt.Errorf("%w: %s %q contains a NUL byte", ErrInvalid, what, v)
	}
	return nil
}

func checkShop(shop string) error { return checkText("shop name", shop, maxShopLen, true) }

func checkKey(k Key) error {
	if err := checkShop(k.Shop); err != nil {
		return err
	}
	if k.OrderID <= 0 {
		return fmt.Errorf("%w: order id %d (must be positive)", ErrInvalid, k.OrderID)
	}
	return checkText("kind", string(k.Kind), maxKindLen, true)
}

func now(at time.Time) time.Time {
	if at.IsZero() {
		return time.Now().UTC()
	}
	return at.UTC()
}

// checkIntent validates a new intent and fills its defaults.
func checkIntent(r *Receipt) error {
	if err := checkKey(r.Key); err != nil {
		return err
	}
	if err := checkText("order number", r.OrderNumber, maxNumberLen, false); err != nil {
		return err
	}
	switch r.State {
	case StatePending, StateSkipped, StateDryRun, StateNeedsPerson:
	case "":
		return fmt.Errorf("%w: %s: empty state", ErrInvalid, r.Key)
	default:
		return fmt.Errorf("%w: %s: an intent is created pending, skipped, dry_run or needs_person, not %q", ErrInvalid, r.Key, r.State)
	}
	if r.State == StatePending && (r.RequestID == "" || len(r.Body) == 0) {
		return fmt.Errorf("%w: %s: a pending intent needs a RequestID and a body", ErrInvalid, r.Key)
	}
	if r.Generation == 0 {
		r.Generation = 1
	}
	if r.Generation < 0 {
		return fmt.Errorf("%w: %s: generation %d", ErrInvalid, r.Key, r.Generation)
	}
	if r.Fiscal != nil || !r.PrintedAt.IsZero() || r.Attempts != 0 {
		return fmt.Errorf("%w: %s: a new intent has no attempts and no fiscal result", ErrInvalid, r.Key)
	}
	return nil
}

// SaveBatch creates every intent and, if cursor is not nil, stores the shop's
// cursor, in one transaction: all or nothing. Intents must belong to shop and
// be pending, skipped, dry_run or needs_person. An intent whose key already
// has a record fails the whole batch with ErrExists, unless that record is
// skipped: a skipped record is replaced (the new intent gets a new ID). A
// zero Generation becomes 1 and a zero CreatedAt the current time. The
// returned intents have ID, CreatedAt and UpdatedAt filled.
func (db *DB) SaveBatch(shop string, intents []Receipt, cursor *Cursor) ([]Receipt, error) {
	if err := checkShop(shop); err != nil {
		return nil, fmt.Errorf("store: save batch: %w", err)
	}
	in := make([]Receipt, len(intents))
	seen := make(map[Key]bool, len(intents))
	for i, r := range intents {
		if r.Shop != shop {
			return nil, fmt.Errorf("store: save batch for %s: %w: intent %s belongs to another shop", shop, ErrInvalid, r.Key)
		}
		if err := checkIntent(&r); err != nil {
			return nil, fmt.Errorf("store: save batch: %w", err)
		}
		if seen[r.Key] {
			return nil, fmt.Errorf("store: save batch: %w: %s appears twice in one batch", ErrInvalid, r.Key)
		}
		seen[r.Key] = true
		r.ID = 0
		r.CreatedAt = now(r.CreatedAt)
		r.UpdatedAt = r.CreatedAt
		r.Body = bytes.Clone(r.Body)
		in[i] = r
	}
	out := make([]Receipt, len(in))
	err := db.update(func(b *buckets) error {
		for i, r := range in {
			if id, old, err := b.getByKey(r.Key); err == nil {
				if old.State != StateSkipped {
					return fmt.Errorf("store: create %s: %w (id %d, %s)", r.Key, ErrExists, id, old.State)
				}
				if err := b.remove(&old); err != nil {
					return err
				}
			} else if err != errNoRecord {
				return err
			}
			id, err := b.receipts.NextSequence()
			if err != nil {
				return fmt.Errorf("store: create %s: %w", r.Key, err)
			}
			r.ID = id
			if err := b.insert(&r); err != nil {
				return err
			}
			out[i] = r
		}
		if cursor != nil {
			sb, err := b.shop(shop, true)
			if err != nil {
				return err
			}
			if err := sb.Put(keyCursor, encodeCursor(*cursor)); err != nil {
				return fmt.Errorf("store: save cursor of %s: %w", shop, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Create creates one intent; see SaveBatch.
func (db *DB) Create(r Receipt) (Receipt, error) {
	out, err := db.SaveBatch(r.Shop, []Receipt{r}, nil)
	if err != nil {
		return Receipt{}, err
	}
	return out[0], nil
}

// MarkPrinted records the register's result: pending or needs_person →
// printed. Printed is final: marking a printed receipt again is
// ErrTransition. From pending it counts one attempt.
func (db *DB) MarkPrinted(k Key, f Fiscal, at time.Time) error {
	f.Date = f.Date.UTC()
	_, err := db.transition("mark printed", k, at, func(r *Receipt) error {
		switch r.State {
		case StatePending:
			r.Attempts++
		case StateNeedsPerson:
		default:
			return notAllowed(r, "printed")
		}
		fc := f
		r.State = StatePrinted
		r.Fiscal = &fc
		r.PrintedAt = r.UpdatedAt
		r.NextAttemptAt = time.Time{}
		return nil
	})
	return err
}

// RecordAttempt records a failed attempt that will be retried with the same
// request: the receipt stays pending, attempts+1, with the error and when to
// try next.
func (db *DB) RecordAttempt(k Key, class, msg string, next time.Time, at time.Time) error {
	_, err := db.transition("record attempt", k, at, func(r *Receipt) error {
		if r.State != StatePending {
			return notAllowed(r, "pending (attempt)")
		}
		r.Attempts++
		r.LastClass, r.LastError = class, msg
		r.NextAttemptAt = next.UTC()
		return nil
	})
	return err
}

// MarkFailed records a final refusal: pending → failed, attempts+1. Only
// Requeue with a new generation sends it again.
func (db *DB) MarkFailed(k Key, class, msg string, at time.Time) error {
	return db.stopPending(k, StateFailed, class, msg, "", at)
}

// MarkNeedsPerson stops automatic work on a receipt whose outcome is unknown
// or unsafe to retry: pending → needs_person, attempts+1; msg is also the
// Reason.
func (db *DB) MarkNeedsPerson(k Key, class, msg string, at time.Time) error {
	return db.stopPending(k, StateNeedsPerson, class, msg, msg, at)
}

// stopPending ends automatic work on a pending receipt: pending → to,
// attempts+1, with the answer's class and message (and reason when set).
func (db *DB) stopPending(k Key, to State, class, msg, reason string, at time.Time) error {
	_, err := db.transition("mark "+string(to), k, at, func(r *Receipt) error {
		if r.State != StatePending {
			return notAllowed(r, string(to))
		}
		r.Attempts++
		r.State = to
		r.LastClass, r.LastError = class, msg
		if reason != "" {
			r.Reason = reason
		}
		r.NextAttemptAt = time.Time{}
		return nil
	})
	return err
}

// Requeue sends a failed or needs_person receipt again as a new request:
// generation must be the old one + 1 and requestID must differ from the old
// one. Attempts, errors and the reason are cleared; the ID stays.
func (db *DB) Requeue(k Key, generation int, requestID string, body []byte, at time.Time) (Receipt, error) {
	if requestID == "" || len(body) == 0 {
		return Receipt{}, fmt.Errorf("store: requeue %s: %w: a RequestID and a body are required", k, ErrInvalid)
	}
	body = bytes.Clone(body)
	return db.transition("requeue", k, at, func(r *Receipt) error {
		if r.State != StateFailed && r.State != StateNeedsPerson {
			return notAllowed(r, "pending (requeue)")
		}
		if generation != r.Generation+1 {
			return fmt.Errorf("%w: %s is at generation %d, a requeue must give %d, not %d", ErrTransition, r.Key, r.Generation, r.Generation+1, generation)
		}
		if requestID == r.RequestID {
			return fmt.Errorf("%w: %s: a requeue needs a new RequestID, %q was already used", ErrTransition, r.Key, requestID)
		}
		r.State = StatePending
		r.Generation = generation
		r.RequestID = requestID
		r.Body = body
		r.Attempts = 0
		r.LastClass, r.LastError, r.Reason = "", "", ""
		r.NextAttemptAt = time.Time{}
		return nil
	})
}

// ReplaceBody gives a pending receipt new request bytes under the same
// RequestID, for one case only: its last answer was a configuration refusal
// (class "config", such as a wrong cashier password). Such an answer is not
// cached by the register and nothing was printed, so the corrected request
// may be sent under the same key; any other pending receipt keeps its exact
// bytes (ErrTransition).
func (db *DB) ReplaceBody(k Key, body []byte, at time.Time) (Receipt, error) {
	if len(body) == 0 {
		return Receipt{}, fmt.Errorf("store: replace body %s: %w: a body is required", k, ErrInvalid)
	}
	body = bytes.Clone(body)
	return db.transition("replace body", k, at, func(r *Receipt) error {
		if r.State != StatePending || r.LastClass != "config" {
			return fmt.Errorf("%w: %s is %s after a %q answer; only a pending receipt refused for its configuration gets new bytes",
				ErrTransition, r.Key, r.State, r.LastClass)
		}
		r.Body = body
		return nil
	})
}

func notAllowed(r *Receipt, to string) error {
	if r.State == StatePrinted {
		return fmt.Errorf("%w: %s is printed, which is final", ErrTransition, r.Key)
	}
	return fmt.Errorf("%w: %s is %s, it cannot become %s", ErrTransition, r.Key, r.State, to)
}

// transition loads the record for k, lets change modify it, and stores it
// with its indexes and counters, in a shared (batched) transaction. change
// runs on a fresh copy each time the transaction is attempted.
func (db *DB) transition(op string, k Key, at time.Time, change func(r *Receipt) error) (Receipt, error) {
	if err := checkKey(k); err != nil {
		return Receipt{}, fmt.Errorf("store: %s: %w", op, err)
	}
	at = now(at)
	var out Receipt
	err := db.batch(func(b *buckets) error {
		_, r, err := b.getByKey(k)
		if err == errNoRecord {
			return fmt.Errorf("store: %s %s: %w", op, k, ErrNotFound)
		}
		if err != nil {
			return err
		}
		old := r.State
		r.UpdatedAt = at
		if err := change(&r); err != nil {
			return fmt.Errorf("store: %s: %w", op, err)
		}
		if err := b.put(&r, old); err != nil {
			return err
		}
		out = r
		return nil
	})
	if err != nil {
		return Receipt{}, err
	}
	return out, nil
}

// errNoRecord is internal: callers turn it into ErrNotFound with detail.
var errNoRecord = fmt.Errorf("no record")

func (b *buckets) damaged(format string, args ...any) error {
	return fmt.Errorf("store: %w: %s", ErrDamaged, fmt.Sprintf(format, args...))
}

func (b *buckets) getByID(id uint64) (Receipt, error) {
	v := b.receipts.Get(id8(id))
	if v == nil {
		return Receipt{}, errNoRecord
	}
	r, err := decodeReceipt(v)
	if err != nil {
		return Receipt{}, b.damaged("receipt %d: %v", id, err)
	}
	if r.ID != id {
		return Receipt{}, b.damaged("receipt stored under id %d says it is %d", id, r.ID)
	}
	return r, nil
}

func (b *buckets) getByKey(k Key) (uint64, Receipt, error) {
	v := b.byKey.Get(keyKey(k))
	if v == nil {
		return 0, Receipt{}, errNoRecord
	}
	if len(v) != 8 {
		return 0, Receipt{}, b.damaged("by_key entry of %s is %d bytes", k, len(v))
	}
	id := binary.BigEndian.Uint64(v)
	r, err := b.getByID(id)
	if err == errNoRecord {
		return 0, Receipt{}, b.damaged("by_key entry of %s points to missing receipt %d", k, id)
	}
	if err != nil {
		return 0, Receipt{}, err
	}
	if r.Key != k {
		return 0, Receipt{}, b.damaged("by_key entry of %s points to receipt %d of %s", k, id, r.Key)
	}
	return id, r, nil
}

// insert stores a new record and all its index entries and counts it.
func (b *buckets) insert(r *Receipt) error {
	if err := b.receipts.Put(id8(r.ID), encodeReceipt(r)); err != nil {
		return fmt.Errorf("store: create %s: %w", r.Key, err)
	}
	id := id8(r.ID)
	puts := []struct {
		bk  *bolt.Bucket
		key []byte
		val []byte
	}{
		{b.byKey, keyKey(r.Key), id},
		{b.byShop, withID(shopPrefix(r.Shop), r.ID), nil},
		{b.byState, withID(statePrefix(r.State), r.ID), nil},
		{b.byShopState, withID(shopStatePrefix(r.Shop, r.State), r.ID), nil},
	}
	if r.OrderNumber != "" {
		puts = append(puts, struct {
			bk  *bolt.Bucket
			key []byte
			val []byte
		}{b.byNumber, withID(numberPrefix(r.OrderNumber, r.Shop), r.ID), nil})
	}
	for _, p := range puts {
		if err := p.bk.Put(p.key, p.val); err != nil {
			return fmt.Errorf("store: create %s: %w", r.Key, err)
		}
	}
	return b.count(r.Shop, r.State, +1)
}

// remove deletes a record and all its index entries and uncounts it.
func (b *buckets) remove(r *Receipt) error {
	dels := []struct {
		bk  *bolt.Bucket
		key []byte
	}{
		{b.receipts, id8(r.ID)},
		{b.byKey, keyKey(r.Key)},
		{b.byShop, withID(shopPrefix(r.Shop), r.ID)},
		{b.byState, withID(statePrefix(r.State), r.ID)},
		{b.byShopState, withID(shopStatePrefix(r.Shop, r.State), r.ID)},
	}
	if r.OrderNumber != "" {
		dels = append(dels, struct {
			bk  *bolt.Bucket
			key []byte
		}{b.byNumber, withID(numberPrefix(r.OrderNumber, r.Shop), r.ID)})
	}
	for _, d := range dels {
		if err := d.bk.Delete(d.key); err != nil {
			return fmt.Errorf("store: replace %s: %w", r.Key, err)
		}
	}
	return b.count(r.Shop, r.State, -1)
}

// put rewrites an existing record whose state was old, moving its state
// index entries and counters if the state changed.
func (b *buckets) put(r *Receipt, old State) error {
	if err := b.receipts.Put(id8(r.ID), encodeReceipt(r)); err != nil {
		return fmt.Errorf("store: update %s: %w", r.Key, err)
	}
	if r.State == old {
		return nil
	}
	steps := []func() error{
		func() error { return b.byState.Delete(withID(statePrefix(old), r.ID)) },
		func() error { return b.byShopState.Delete(withID(shopStatePrefix(r.Shop, old), r.ID)) },
		func() error { return b.byState.Put(withID(statePrefix(r.State), r.ID), nil) },
		func() error { return b.byShopState.Put(withID(shopStatePrefix(r.Shop, r.State), r.ID), nil) },
		func() error { return b.count(r.Shop, old, -1) },
		func() error { return b.count(r.Shop, r.State, +1) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return fmt.Errorf("store: update %s: %w", r.Key, err)
		}
	}
	return nil
}

// shop returns the shop's bucket, creating it (and its counters) if create.
func (b *buckets) shop(name string, create bool) (*bolt.Bucket, error) {
	if sb := b.shops.Bucket([]byte(name)); sb != nil || !create {
		return sb, nil
	}
	sb, err := b.shops.CreateBucket([]byte(name))
	if err != nil {
		return nil, fmt.Errorf("store: add shop %s: %w", name, err)
	}
	if _, err := sb.CreateBucket(bucketCounts); err != nil {
		return nil, fmt.Errorf("store: add shop %s: %w", name, err)
	}
	return sb, nil
}

func (b *buckets) count(shop string, s State, delta int64) error {
	sb, err := b.shop(shop, true)
	if err != nil {
		return err
	}
	cb := sb.Bucket(bucketCounts)
	if cb == nil {
		return b.damaged("shop %s has no counts bucket", shop)
	}
	var n uint64
	if v := cb.Get([]byte(s)); v != nil {
		if len(v) != 8 {
			return b.damaged("count of %s/%s is %d bytes", shop, s, len(v))
		}
		n = binary.BigEndian.Uint64(v)
	}
	if delta < 0 && n < uint64(-delta) {
		return b.damaged("count of %s/%s would go below zero", shop, s)
	}
	n = uint64(int64(n) + delta)
	return cb.Put([]byte(s), binary.BigEndian.AppendUint64(nil, n))
}

// Get returns the receipt for k, or ErrNotFound.
func (db *DB) Get(k Key) (Receipt, error) {
	if err := checkKey(k); err != nil {
		return Receipt{}, fmt.Errorf("store: get: %w", err)
	}
	var r Receipt
	err := db.view(func(b *buckets) error {
		var err error
		_, r, err = b.getByKey(k)
		if err == errNoRecord {
			return fmt.Errorf("store: get %s: %w", k, ErrNotFound)
		}
		return err
	})
	return r, err
}

// GetByID returns the receipt with the public id, or ErrNotFound.
func (db *DB) GetByID(id uint64) (Receipt, error) {
	var r Receipt
	err := db.view(func(b *buckets) error {
		var err error
		r, err = b.getByID(id)
		if err == errNoRecord {
			return fmt.Errorf("store: get receipt %d: %w", id, ErrNotFound)
		}
		return err
	})
	return r, err
}

// ByOrder returns every receipt of one order, oldest first.
func (db *DB) ByOrder(shop string, orderID int64) ([]Receipt, error) {
	if err := checkShop(shop); err != nil {
		return nil, fmt.Errorf("store: receipts of order: %w", err)
	}
	var out []Receipt
	err := db.view(func(b *buckets) error {
		ids, err := b.idsByOrder(orderID, shop)
		if err != nil {
			return err
		}
		slices.Sort(ids)
		out, err = b.load(ids)
		return err
	})
	return out, err
}

func (b *buckets) idsByOrder(orderID int64, shop string) ([]uint64, error) {
	prefix := orderPrefix(orderID, shop)
	var ids []uint64
	c := b.byKey.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(v) != 8 {
			return nil, b.damaged("by_key entry %q is %d bytes", k, len(v))
		}
		ids = append(ids, binary.BigEndian.Uint64(v))
	}
	return ids, nil
}

func (b *buckets) load(ids []uint64) ([]Receipt, error) {
	out := make([]Receipt, 0, len(ids))
	for _, id := range ids {
		r, err := b.getByID(id)
		if err == errNoRecord {
			return nil, b.damaged("an index names missing receipt %d", id)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Filter selects receipts for List. Zero fields match everything.
type Filter struct {
	Shop        string
	State       State
	Kind        Kind
	OrderNumber string
	OrderID     int64
	Limit       int    // at most this many; 0 means 100, more than 1000 means 1000
	Before      uint64 // only receipts with ID < Before; 0 = from the newest
}

func (f *Filter) match(r *Receipt) bool {
	return (f.Shop == "" || r.Shop == f.Shop) &&
		(f.State == "" || r.State == f.State) &&
		(f.Kind == "" || r.Kind == f.Kind) &&
		(f.OrderNumber == "" || r.OrderNumber == f.OrderNumber) &&
		(f.OrderID == 0 || r.OrderID == f.OrderID)
}

// List returns receipts newest first (by ID, the time index) and the Before
// for the next page, 0 when there is none. It walks the narrowest index the
// filter allows: an order id or number, a (shop, state) or state, a shop, or
// the receipts themselves; only a Kind on its own filters while walking.
func (db *DB) List(f Filter) ([]Receipt, uint64, error) {
	switch {
	case f.Limit <= 0:
		f.Limit = 100
	case f.Limit > 1000:
		f.Limit = 1000
	}
	if f.Shop != "" {
		if err := checkShop(f.Shop); err != nil {
			return nil, 0, fmt.Errorf("store: list: %w", err)
		}
	}
	if f.State != "" && !f.State.Valid() {
		return nil, 0, fmt.Errorf("store: list: %w: unknown state %q", ErrInvalid, f.State)
	}
	if err := checkText("order number", f.OrderNumber, maxNumberLen, false); err != nil {
		return nil, 0, fmt.Errorf("store: list: %w", err)
	}
	var out []Receipt
	var next uint64
	err := db.view(func(b *buckets) error {
		var err error
		out, next, err = b.list(&f)
		return err
	})
	return out, next, err
}

func (b *buckets) list(f *Filter) ([]Receipt, uint64, error) {
	// Few receipts per order: collect, sort, filter.
	if f.OrderID != 0 || f.OrderNumber != "" {
		var ids []uint64
		if f.OrderID != 0 {
			var err error
			if ids, err = b.idsByOrder(f.OrderID, f.Shop); err != nil {
				return nil, 0, err
			}
		} else {
			prefix := numberPrefix(f.OrderNumber, f.Shop)
			c := b.byNumber.Cursor()
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				if len(k) < 8 {
					return nil, 0, b.damaged("by_number key %q too short", k)
				}
				ids = append(ids, binary.BigEndian.Uint64(k[len(k)-8:]))
			}
		}
		slices.Sort(ids)
		slices.Reverse(ids)
		var out []Receipt
		for _, id := range ids {
			if f.Before != 0 && id >= f.Before {
				continue
			}
			r, err := b.getByID(id)
			if err != nil {
				return nil, 0, b.damaged("an index names receipt %d: %v", id, err)
			}
			if !f.match(&r) {
				continue
			}
			if len(out) == f.Limit {
				return out, out[len(out)-1].ID, nil
			}
			out = append(out, r)
		}
		return out, 0, nil
	}

	// Otherwise walk an index whose keys are prefix+id8 backwards from Before.
	var c *bolt.Cursor
	var prefix []byte
	switch {
	case f.State != "" && f.Shop != "":
		c, prefix = b.byShopState.Cursor(), shopStatePrefix(f.Shop, f.State)
	case f.State != "":
		c, prefix = b.byState.Cursor(), statePrefix(f.State)
	case f.Shop != "":
		c, prefix = b.byShop.Cursor(), shopPrefix(f.Shop)
	default:
		c, prefix = b.receipts.Cursor(), nil
	}
	upper := f.Before
	if upper == 0 {
		upper = ^uint64(0)
	}
	k, _ := c.Seek(withID(prefix, upper))
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	var out []Receipt
	for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
		if len(k) != len(prefix)+8 {
			return nil, 0, b.damaged("index key %q has the wrong length", k)
		}
		id := binary.BigEndian.Uint64(k[len(prefix):])
		r, err := b.getByID(id)
		if err != nil {
			return nil, 0, b.damaged("an index names receipt %d: %v", id, err)
		}
		if !f.match(&r) {
			continue
		}
		if len(out) == f.Limit {
			return out, out[len(out)-1].ID, nil
		}
		out = append(out, r)
	}
	return out, 0, nil
}

// Pending returns every pending receipt, oldest first, from the pending
// index: the work for the retry loop and for start-up recovery.
func (db *DB) Pending() ([]Receipt, error) {
	var out []Receipt
	err := db.view(func(b *buckets) error {
		prefix := statePrefix(StatePending)
		var ids []uint64
		c := b.byState.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if len(k) != len(prefix)+8 {
				return b.damaged("by_state key %q has the wrong length", k)
			}
			ids = append(ids, binary.BigEndian.Uint64(k[len(prefix):]))
		}
		var err error
		out, err = b.load(ids)
		return err
	})
	return out, err
}

// Counts returns how many receipts the shop has in each state (every state
// present, zeros included), from counters kept with the records. An empty
// shop sums all shops. An unknown shop is ErrNotFound.
func (db *DB) Counts(shop string) (map[State]int, error) {
	out := make(map[State]int, len(States))
	for _, s := range States {
		out[s] = 0
	}
	err := db.view(func(b *buckets) error {
		var names [][]byte
		if shop == "" {
			if err := b.shops.ForEachBucket(func(k []byte) error {
				names = append(names, k)
				return nil
			}); err != nil {
				return err
			}
		} else {
			names = [][]byte{[]byte(shop)}
		}
		for _, name := range names {
			sb := b.shops.Bucket(name)
			if sb == nil {
				return fmt.Errorf("store: counts of shop %s: %w", name, ErrNotFound)
			}
			cb := sb.Bucket(bucketCounts)
			if cb == nil {
				return b.damaged("shop %s has no counts bucket", name)
			}
			for _, s := range States {
				if v := cb.Get([]byte(s)); v != nil {
					if len(v) != 8 {
						return b.damaged("count of %s/%s is %d bytes", name, s, len(v))
					}
					out[s] += int(binary.BigEndian.Uint64(v))
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
