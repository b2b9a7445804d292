// Package store keeps chekd's durable state in one bbolt file: every receipt
// intent with the exact request body sent to the register, its state, and each
// shop's poll cursor. It is what makes a receipt print exactly once: an intent
// is committed (fsync) before the first call to the register, and the same
// bytes with the same RequestId are resent on every retry and after every
// restart.
//
// It must never call the network or any other slow thing inside a
// transaction, never hand out bytes that point into the memory-mapped file
// (values are copied out), never open the file with NoSync, and never panic on
// a damaged file: damage is an error that names the file.
//
// # Schema (version 1)
//
// All keys and values are bytes. id8 is a receipt ID as 8 bytes big-endian, so
// byte order is ID order, and IDs increase with creation time: ID order is the
// time index. 0x00 separates text parts of keys (shop names, kinds and order
// numbers may not contain it).
//
//	v1/                                 root bucket of layout 1
//	  meta/
//	    schema_version                  decimal text, "1"
//	    created_at                      time (see below) the file was made
//	  kv/                               SetMeta / Meta: name → opaque bytes
//	  receipts/                         id8 → receipt record (see below);
//	                                    its sequence is the last ID given out
//	  by_key/                           order id (8 bytes big-endian) shop 0x00 kind → id8
//	  by_shop/                          shop 0x00 id8 → empty
//	  by_state/                         state 0x00 id8 → empty ("pending" is the pending index)
//	  by_shop_state/                    shop 0x00 state 0x00 id8 → empty
//	  by_number/                        order number 0x00 shop 0x00 id8 → empty
//	  shops/
//	    <shop>/
//	      cursor                        uvarint len, updated_at text, varint order id
//	      first_start_at                time
//	      last_poll_at                  time
//	      last_poll_error               text
//	      counts/                       state → uint64 big-endian: receipts in that state
//
// Every index and counter is changed in the same transaction as the record it
// describes; Check verifies them against the records.
//
// A time is one byte 0 for the zero time, else byte 1, the varint Unix seconds
// and the uvarint nanoseconds; it is read back in UTC.
//
// A receipt record is byte 1 (the record encoding), then in this order: uvarint
// ID, string shop, varint order id, string kind, string order number, string
// RequestId, uvarint generation, byte state (1 pending, 2 printed, 3 failed,
// 4 skipped, 5 dry_run, 6 needs_person), bytes body, string contact, varint
// total (kopecks), uvarint attempts, string last error, string last class,
// string reason, time next attempt, time created, time updated, time printed,
// then byte 0 (no fiscal result) or byte 1 followed by uvarint fiscal document
// number, uvarint fiscal sign, string FN serial, string registration number,
// uvarint document number, uvarint shift, time date, string QR, uvarint total,
// byte from-cache. A string or bytes value is a uvarint length and that many
// bytes. The body is stored as it was given, byte for byte. Decoding rejects
// trailing bytes, unknown state bytes and lengths that overrun the value.
//
// # Versions and migration
//
// The root bucket's name is the layout ("v1") and v1/meta/schema_version is
// the version. Open refuses a file whose schema_version is newer than this
// program knows. A compatible change (a new index, a new optional field at
// the end of a record, which needs a new record encoding byte) raises
// schema_version and is made by Open, in one write transaction, before
// anything else reads the file. An incompatible change writes a new root
// bucket ("v2") from "v1" in one transaction and raises v1/meta/schema_version
// in that same transaction, so older programs, which always read
// v1/meta/schema_version first, refuse the file instead of reading stale data.
//
// # Receipt states
//
//	pending ──MarkPrinted──▶ printed (final)
//	pending ──RecordAttempt─▶ pending (attempts+1)
//	pending ──MarkFailed───▶ failed ──Requeue(generation+1)──▶ pending
//	pending ──MarkNeedsPerson─▶ needs_person ──Requeue(generation+1)──▶ pending
//	needs_person ──MarkPrinted──▶ printed
//
// skipped, dry_run and needs_person may also be created directly. A skipped
// record is the only one a new intent for the same key may replace; the
// replacement gets a new ID.
//
// Single-record transitions go through bbolt's Batch, so concurrent callers
// share one fsync; SaveBatch is one transaction (one fsync) for a whole page
// of orders and the cursor after it.
package store
