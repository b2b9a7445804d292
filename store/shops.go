package store

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Shop returns what the store keeps about a shop, or ErrNotFound for a shop
// it has never seen.
func (db *DB) Shop(name string) (ShopState, error) {
	if err := checkShop(name); err != nil {
		return ShopState{}, fmt.Errorf("store: shop: %w", err)
	}
	var st ShopState
	err := db.view(func(b *buckets) error {
		sb, _ := b.shop(name, false)
		if sb == nil {
			return fmt.Errorf("store: shop %s: %w", name, ErrNotFound)
		}
		var err error
		st, err = b.readShop(name, sb)
		return err
	})
	return st, err
}

func (b *buckets) readShop(name string, sb *bolt.Bucket) (ShopState, error) {
	var st ShopState
	if v := sb.Get(keyCursor); v != nil {
		c, err := decodeCursor(v)
		if err != nil {
			return ShopState{}, b.damaged("cursor of shop %s: %v", name, err)
		}
		st.Cursor, st.HasCursor = c, true
	}
	var err error
	if st.FirstStartAt, err = decodeTime(sb.Get(keyFirstStartAt)); err != nil {
		return ShopState{}, b.damaged("first start of shop %s: %v", name, err)
	}
	if st.LastPollAt, err = decodeTime(sb.Get(keyLastPollAt)); err != nil {
		return ShopState{}, b.damaged("last poll of shop %s: %v", name, err)
	}
	st.LastPollError = string(sb.Get(keyLastPollError))
	return st, nil
}

// SetCursor stores the shop's poll cursor on its own. After a page of orders,
// SaveBatch stores the cursor with the page's intents instead.
func (db *DB) SetCursor(name string, c Cursor) error {
	if err := checkShop(name); err != nil {
		return fmt.Errorf("store: set cursor: %w", err)
	}
	return db.batch(func(b *buckets) error {
		sb, err := b.shop(name, true)
		if err != nil {
			return err
		}
		if err := sb.Put(keyCursor, encodeCursor(c)); err != nil {
			return fmt.Errorf("store: set cursor of %s: %w", name, err)
		}
		return nil
	})
}

// SetPollResult records when the shop was last polled and how that ended;
// an empty pollErr means it went well. pollErr must hold no secrets.
func (db *DB) SetPollResult(name string, at time.Time, pollErr string) error {
	if err := checkShop(name); err != nil {
		return fmt.Errorf("store: set poll result: %w", err)
	}
	at = now(at)
	return db.batch(func(b *buckets) error {
		sb, err := b.shop(name, true)
		if err != nil {
			return err
		}
		if err := sb.Put(keyLastPollAt, encodeTime(at)); err != nil {
			return fmt.Errorf("store: set poll result of %s: %w", name, err)
		}
		if pollErr == "" {
			err = sb.Delete(keyLastPollError)
		} else {
			err = sb.Put(keyLastPollError, []byte(pollErr))
		}
		if err != nil {
			return fmt.Errorf("store: set poll result of %s: %w", name, err)
		}
		return nil
	})
}

// InitShop registers a shop at start-up. The first time (no cursor yet) it
// stores start as the cursor and at as the first start; afterwards it changes
// nothing. It returns the shop's state either way.
func (db *DB) InitShop(name string, start Cursor, at time.Time) (ShopState, error) {
	if err := checkShop(name); err != nil {
		return ShopState{}, fmt.Errorf("store: init shop: %w", err)
	}
	at = now(at)
	var st ShopState
	err := db.update(func(b *buckets) error {
		sb, err := b.shop(name, true)
		if err != nil {
			return err
		}
		if sb.Get(keyCursor) == nil {
			if err := sb.Put(keyCursor, encodeCursor(start)); err != nil {
				return fmt.Errorf("store: init shop %s: %w", name, err)
			}
			if err := sb.Put(keyFirstStartAt, encodeTime(at)); err != nil {
				return fmt.Errorf("store: init shop %s: %w", name, err)
			}
		}
		st, err = b.readShop(name, sb)
		return err
	})
	return st, err
}

// Shops lists the shops the store knows, in byte order.
func (db *DB) Shops() ([]string, error) {
	var out []string
	err := db.view(func(b *buckets) error {
		return b.shops.ForEachBucket(func(k []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	return out, err
}

// SetMeta stores a small named value (at most 64 KiB) for other parts of
// chekd. It must not be a secret.
func (db *DB) SetMeta(key string, value []byte) error {
	if key == "" || len(key) > 256 {
		return fmt.Errorf("store: set meta: %w: key must be 1..256 bytes", ErrInvalid)
	}
	if len(value) > 64<<10 {
		return fmt.Errorf("store: set meta %s: %w: value is %d bytes, at most 64 KiB", key, ErrInvalid, len(value))
	}
	value = bytes.Clone(value)
	if value == nil {
		value = []byte{}
	}
	return db.batch(func(b *buckets) error {
		if err := b.kv.Put([]byte(key), value); err != nil {
			return fmt.Errorf("store: set meta %s: %w", key, err)
		}
		return nil
	})
}

// Meta returns a value stored by SetMeta, or ErrNotFound.
func (db *DB) Meta(key string) ([]byte, error) {
	var out []byte
	err := db.view(func(b *buckets) error {
		v := b.kv.Get([]byte(key))
		if v == nil {
			return fmt.Errorf("store: meta %s: %w", key, ErrNotFound)
		}
		out = bytes.Clone(v)
		if out == nil {
			out = []byte{}
		}
		return nil
	})
	return out, err
}
