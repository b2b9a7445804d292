package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the schema this package reads and writes.
const SchemaVersion = 1

// Kind is what a receipt is for: "sale", "refund", "prepayment",
// "settlement", "prepayment_refund". The store only requires it non-empty.
type Kind string

// State is where a receipt is in its life. See the package documentation.
type State string

// The receipt states.
const (
	StatePending     State = "pending"      // to be sent (again) to the register
	StatePrinted     State = "printed"      // the register printed it; final
	StateFailed      State = "failed"       // the register refused it for good; a fix needs a new generation
	StateSkipped     State = "skipped"      // deliberately not printed (Reason says why)
	StateDryRun      State = "dry_run"      // built but not sent: the shop runs in dry-run mode
	StateNeedsPerson State = "needs_person" // the outcome is unknown or unsafe to retry: a person decides
)

// States lists every state, in a fixed order.
var States = []State{StatePending, StatePrinted, StateFailed, StateSkipped, StateDryRun, StateNeedsPerson}

// Valid reports whether s is one of the states.
func (s State) Valid() bool {
	_, ok := stateCode(s)
	return ok
}

// Key names one receipt: one kind of receipt for one InSales order of one shop.
type Key struct {
	Shop    string
	OrderID int64
	Kind    Kind
}

func (k Key) String() string { return fmt.Sprintf("%s/%d/%s", k.Shop, k.OrderID, k.Kind) }

// Fiscal is what the register reported for a printed receipt.
type Fiscal struct {
	FiscalDocNumber, FiscalSign  uint64 // ФД, ФП
	FNSerial, RegistrationNumber string
	DocNumber, Shift             uint64
	Date                         time.Time // the register's clock, UTC wall time
	QR                           string
	Total                        uint64 // kopecks
	FromCache                    bool
}

// Receipt is one receipt record. Body is the exact request body sent to the
// register; it is resent unchanged on every retry of this generation.
type Receipt struct {
	ID uint64 // global, increasing, assigned at creation; the public id
	Key
	OrderNumber   string
	RequestID     string
	Generation    int
	State         State
	Body          []byte
	Contact       string
	Total         int64 // kopecks
	Attempts      int
	LastError     string
	LastClass     string
	Reason        string // why it was skipped or needs a person
	NextAttemptAt time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
	PrintedAt     time.Time
	Fiscal        *Fiscal
}

// Cursor is a shop's poll position: the last seen order's updated_at, exactly
// as InSales sent it, and its id.
type Cursor struct {
	UpdatedAt string
	ID        int64
}

// ShopState is what the store keeps about one shop.
type ShopState struct {
	Cursor        Cursor
	HasCursor     bool
	LastPollAt    time.Time
	LastPollError string
	FirstStartAt  time.Time
}

// Options says how to open the store.
type Options struct {
	Timeout  time.Duration // how long to wait for another process's lock; 0 means 1s
	ReadOnly bool          // shared lock, no writes; the file must exist
}

// Errors a caller may test for with errors.Is. Returned errors wrap them with
// the key and the detail.
var (
	ErrExists     = errors.New("already exists")
	ErrNotFound   = errors.New("not found")
	ErrTransition = errors.New("state transition not allowed")
	ErrInvalid    = errors.New("invalid value")
	ErrDamaged    = errors.New("database file is damaged")
)

// DB is an open store. Its methods are safe for concurrent use.
type DB struct {
	bolt     *bolt.DB
	path     string
	readOnly bool
}

// Bucket names.
var (
	bucketRoot        = []byte("v1")
	bucketMeta        = []byte("meta")
	bucketKV          = []byte("kv")
	bucketReceipts    = []byte("receipts")
	bucketByKey       = []byte("by_key")
	bucketByShop      = []byte("by_shop")
	bucketByState     = []byte("by_state")
	bucketByShopState = []byte("by_shop_state")
	bucketByNumber    = []byte("by_number")
	bucketShops       = []byte("shops")
	bucketCounts      = []byte("counts")

	keySchemaVersion = []byte("schema_version")
	keyCreatedAt     = []byte("created_at")
	keyCursor        = []byte("cursor")
	keyFirstStartAt  = []byte("first_start_at")
	keyLastPollAt    = []byte("last_poll_at")
	keyLastPollError = []byte("last_poll_error")
)

var dataBuckets = [][]byte{bucketKV, bucketReceipts, bucketByKey, bucketByShop, bucketByState, bucketByShopState, bucketByNumber, bucketShops}

// batchDelay is how long a single-record transition waits for others to
// share its transaction (and fsync). bbolt's default of 10ms would make a
// lone caller wait far longer than the fsync itself.
const batchDelay = 2 * time.Millisecond

// Open opens the store at path, creating its directory (0700) and the file
// (0600) if needed. A new file is built under a temporary name and linked into
// place, so a crash while creating it never leaves a half-made database at
// path. Open waits opts.Timeout for another process's lock and checks the
// schema version.
func Open(path string, opts Options) (db *DB, err error) {
	if path == "" {
		return nil, errors.New("store: empty database path")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if !opts.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("store: create directory for %s: %w", path, err)
		}
		if err := createIfMissing(path); err != nil {
			return nil, err
		}
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("store: %s is not a chekd database (not a regular file)", path)
	}
	if info.Size() == 0 {
		return nil, fmt.Errorf("store: %s is not a chekd database (the file is empty); move it away to start a new one", path)
	}

	if !opts.ReadOnly {
		// A read-write open reads the free list first and fails on a
		// foreign or truncated file with confusing messages; a read-only
		// look first tells what is wrong in plain words.
		if err := probe(path, opts, info.Size()); err != nil {
			return nil, err
		}
	}
	bdb, err := openBolt(path, opts)
	if err != nil {
		return nil, err
	}
	db = &DB{bolt: bdb, path: path, readOnly: opts.ReadOnly}
	if err := db.validate(info.Size()); err != nil {
		_ = bdb.Close()
		return nil, err
	}
	bdb.MaxBatchDelay = batchDelay
	return db, nil
}

// probe opens path read-only and returns what validate finds.
func probe(path string, opts Options, size int64) error {
	opts.ReadOnly = true
	bdb, err := openBolt(path, opts)
	if err != nil {
		return err
	}
	defer bdb.Close()
	return (&DB{bolt: bdb, path: path, readOnly: true}).validate(size)
}

// openBolt opens the file, turning bbolt's errors and panics on foreign or
// damaged files into clear errors.
func openBolt(path string, opts Options) (bdb *bolt.DB, err error) {
	// bbolt does not close the file when it panics half-way through Open;
	// keep hold of it so the file and its lock are not leaked. (Its memory
	// map is, until the process exits: the lock must be dropped explicitly,
	// as the map keeps the open file alive.)
	var file *os.File
	openFile := func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		file = f
		return f, err
	}
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if err != nil && bdb == nil && file != nil {
			_ = syscall.Flock(int(file.Fd()), syscall.LOCK_UN)
			_ = file.Close()
		}
	}()
	defer guardPanic(path, &err)
	bdb, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout, ReadOnly: opts.ReadOnly, OpenFile: openFile})
	switch {
	case err == nil:
		return bdb, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("store: %s is locked by another chekd process (waited %s); stop it or use another data_dir", path, opts.Timeout)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
		return nil, fmt.Errorf("store: %s is not a chekd database (not a bbolt file, or its header is damaged: %w)", path, err)
	default:
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
}

// guardPanic turns a panic (bbolt panics on some damaged pages) into an
// ErrDamaged error. Memory faults on a truncated mapping become panics too.
// Use as: defer guardPanic(path, &err) right after setting up the function.
func guardPanic(path string, err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("store: %s: %w (%v); run chekd's store check, restore a backup", path, ErrDamaged, p)
	}
}

// guard runs fn with memory faults turned into panics and every panic into
// an error.
func (db *DB) guard(fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer guardPanic(db.path, &err)
	return fn()
}

// createIfMissing makes a new, fully initialised database at path unless a
// file is already there. It is built as a temporary file and hard-linked into
// place: link fails if path appeared meanwhile (another chekd won the race),
// and then that file is used.
func createIfMissing(path string) error {
	if _, err := os.Lstat(path); err == nil || !errors.Is(err, os.ErrNotExist) {
		return nil // exists, or Stat will report the problem
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".new-*")
	if err != nil {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	tmp := f.Name()
	_ = f.Close()
	defer os.Remove(tmp)
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	bdb, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	err = bdb.Update(initSchema)
	if cerr := bdb.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("store: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("store: sync %s: %w", dir, err)
	}
	return nil
}

func initSchema(tx *bolt.Tx) error {
	root, err := tx.CreateBucket(bucketRoot)
	if err != nil {
		return err
	}
	meta, err := root.CreateBucket(bucketMeta)
	if err != nil {
		return err
	}
	if err := meta.Put(keySchemaVersion, []byte(strconv.Itoa(SchemaVersion))); err != nil {
		return err
	}
	if err := meta.Put(keyCreatedAt, encodeTime(time.Now())); err != nil {
		return err
	}
	for _, name := range dataBuckets {
		if _, err := root.CreateBucket(name); err != nil {
			return err
		}
	}
	return nil
}

// validate checks that the opened file is a chekd database this program can
// use: the file is as long as its header says, the root bucket and all
// buckets exist, the schema version is known.
func (db *DB) validate(fileSize int64) error {
	return db.guard(func() error {
		return db.bolt.View(func(tx *bolt.Tx) error {
			if tx.Size() > fileSize {
				return fmt.Errorf("store: %s: %w: the file is %d bytes but should be at least %d (truncated)", db.path, ErrDamaged, fileSize, tx.Size())
			}
			root := tx.Bucket(bucketRoot)
			if root == nil {
				var names []string
				_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
					names = append(names, strconv.Quote(string(name)))
					return nil
				})
				return fmt.Errorf("store: %s is not a chekd database (a bbolt file without the %q bucket; it has [%s])", db.path, bucketRoot, strings.Join(names, " "))
			}
			meta := root.Bucket(bucketMeta)
			if meta == nil {
				return fmt.Errorf("store: %s is not a chekd database (no schema_version)", db.path)
			}
			raw := meta.Get(keySchemaVersion)
			v, err := strconv.Atoi(string(raw))
			if err != nil || v < 1 {
				return fmt.Errorf("store: %s is not a chekd database (schema_version %q)", db.path, raw)
			}
			if v > SchemaVersion {
				return fmt.Errorf("store: schema version %d is newer than this chekd understands (%d); %s was written by a newer chekd: upgrade", v, SchemaVersion, db.path)
			}
			for _, name := range dataBuckets {
				if root.Bucket(name) == nil {
					return fmt.Errorf("store: %s: %w: bucket %s is missing", db.path, ErrDamaged, name)
				}
			}
			return nil
		})
	})
}

// Close closes the file and releases the lock.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", db.path, err)
	}
	return nil
}

// Path is the database file's path.
func (db *DB) Path() string { return db.path }

// view and update run fn in a read or write transaction of the root
// bucket; batch shares its transaction with concurrent callers, so fn may
// run more than once and must recompute everything from the transaction.
func (db *DB) view(fn func(b *buckets) error) error {
	return db.guard(func() error {
		return db.bolt.View(func(tx *bolt.Tx) error { return fn(openBuckets(tx)) })
	})
}

func (db *DB) update(fn func(b *buckets) error) error {
	return db.guard(func() error {
		return db.bolt.Update(func(tx *bolt.Tx) error { return fn(openBuckets(tx)) })
	})
}

func (db *DB) batch(fn func(b *buckets) error) error {
	return db.guard(func() error {
		return db.bolt.Batch(func(tx *bolt.Tx) error { return fn(openBuckets(tx)) })
	})
}

// appendFill is the fill percent of buckets whose keys mostly grow at the
// end: full pages when they split, instead of bbolt's half-full default.
const appendFill = 0.9

type buckets struct {
	tx                                               *bolt.Tx
	root, meta, kv, receipts, byKey, byShop, byState *bolt.Bucket
	byShopState, byNumber, shops                     *bolt.Bucket
}

func openBuckets(tx *bolt.Tx) *buckets {
	root := tx.Bucket(bucketRoot)
	b := &buckets{
		tx:          tx,
		root:        root,
		meta:        root.Bucket(bucketMeta),
		kv:          root.Bucket(bucketKV),
		receipts:    root.Bucket(bucketReceipts),
		byKey:       root.Bucket(bucketByKey),
		byShop:      root.Bucket(bucketByShop),
		byState:     root.Bucket(bucketByState),
		byShopState: root.Bucket(bucketByShopState),
		byNumber:    root.Bucket(bucketByNumber),
		shops:       root.Bucket(bucketShops),
	}
	if tx.Writable() {
		b.receipts.FillPercent = appendFill
		b.byShop.FillPercent = appendFill
		b.byState.FillPercent = appendFill
		b.byShopState.FillPercent = appendFill
	}
	return b
}
