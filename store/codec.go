package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// recordV1 is the first byte of every receipt record in this encoding.
const recordV1 = 1

var stateCodes = [...]State{1: StatePending, 2: StatePrinted, 3: StateFailed, 4: StateSkipped, 5: StateDryRun, 6: StateNeedsPerson}

func stateCode(s State) (byte, bool) {
	for i, v := range stateCodes {
		if i > 0 && v == s {
			return byte(i), true
		}
	}
	return 0, false
}

// errShort is what a decoder reports when a value ends early.
var errShort = errors.New("value ends early")

type encoder struct{ b []byte }

func (e *encoder) byte(v byte)      { e.b = append(e.b, v) }
func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) bytes(v []byte)   { e.uvarint(uint64(len(v))); e.b = append(e.b, v...) }
func (e *encoder) string(v string)  { e.uvarint(uint64(len(v))); e.b = append(e.b, v...) }
func (e *encoder) bool(v bool)      { e.byte(boolByte(v)) }
func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.byte(0)
		return
	}
	e.byte(1)
	e.varint(t.Unix())
	e.uvarint(uint64(t.Nanosecond()))
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// decoder reads what encoder wrote. The first error sticks; every read after
// it returns zero values, so callers check err once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail(errShort)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errors.New("bad uvarint"))
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(errors.New("bad varint"))
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int {
	v := d.uvarint()
	if v > math.MaxInt32 {
		d.fail(fmt.Errorf("count %d out of range", v))
		return 0
	}
	return int(v)
}

// raw returns a length-prefixed part of the value, not copied.
func (d *decoder) raw() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail(errShort)
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

// bytes returns a copy, so it stays valid after the transaction.
func (d *decoder) bytes() []byte {
	v := d.raw()
	if v == nil {
		return nil
	}
	return append([]byte(nil), v...)
}

func (d *decoder) string() string { return string(d.raw()) }

func (d *decoder) bool() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail(errors.New("bad boolean"))
		return false
	}
}

func (d *decoder) time() time.Time {
	switch d.byte() {
	case 0:
		return time.Time{}
	case 1:
		sec := d.varint()
		nsec := d.uvarint()
		if nsec >= 1e9 {
			d.fail(fmt.Errorf("nanoseconds %d out of range", nsec))
			return time.Time{}
		}
		return time.Unix(sec, int64(nsec)).UTC()
	default:
		d.fail(errors.New("bad time"))
		return time.Time{}
	}
}

// encodeReceipt writes r in the record encoding described in the package
// documentation. r.State must be a known state.
func encodeReceipt(r *Receipt) []byte {
	e := encoder{b: make([]byte, 0, 160+len(r.Body)+len(r.LastError)+len(r.Reason))}
	e.byte(recordV1)
	e.uvarint(r.ID)
	e.string(r.Shop)
	e.varint(r.OrderID)
	e.string(string(r.Kind))
	e.string(r.OrderNumber)
	e.string(r.RequestID)
	e.uvarint(uint64(r.Generation))
	code, _ := stateCode(r.State)
	e.byte(code)
	e.bytes(r.Body)
	e.string(r.Contact)
	e.varint(r.Total)
	e.uvarint(uint64(r.Attempts))
	e.string(r.LastError)
	e.string(r.LastClass)
	e.string(r.Reason)
	e.time(r.NextAttemptAt)
	e.time(r.CreatedAt)
	e.time(r.UpdatedAt)
	e.time(r.PrintedAt)
	if r.Fiscal == nil {
		e.byte(0)
		return e.b
	}
	f := r.Fiscal
	e.byte(1)
	e.uvarint(f.FiscalDocNumber)
	e.uvarint(f.FiscalSign)
	e.string(f.FNSerial)
	e.string(f.RegistrationNumber)
	e.uvarint(f.DocNumber)
	e.uvarint(f.Shift)
	e.time(f.Date)
	e.string(f.QR)
	e.uvarint(f.Total)
	e.bool(f.FromCache)
	return e.b
}

// decodeReceipt reads a record. Everything it returns is a copy: the input
// may point into the memory-mapped file.
func decodeReceipt(v []byte) (Receipt, error) {
	d := decoder{b: v}
	var r Receipt
	if enc := d.byte(); d.err == nil && enc != recordV1 {
		return Receipt{}, fmt.Errorf("unknown record encoding %d", enc)
	}
	r.ID = d.uvarint()
	r.Shop = d.string()
	r.OrderID = d.varint()
	r.Kind = Kind(d.string())
	r.OrderNumber = d.string()
	r.RequestID = d.string()
	r.Generation = d.int()
	code := d.byte()
	if d.err == nil {
		if int(code) == 0 || int(code) >= len(stateCodes) {
			return Receipt{}, fmt.Errorf("unknown state byte %d", code)
		}
		r.State = stateCodes[code]
	}
	r.Body = d.bytes()
	r.Contact = d.string()
	r.Total = d.varint()
	r.Attempts = d.int()
	r.LastError = d.string()
	r.LastClass = d.string()
	r.Reason = d.string()
	r.NextAttemptAt = d.time()
	r.CreatedAt = d.time()
	r.UpdatedAt = d.time()
	r.PrintedAt = d.time()
	if d.bool() {
		f := &Fiscal{}
		f.FiscalDocNumber = d.uvarint()
		f.FiscalSign = d.uvarint()
		f.FNSerial = d.string()
		f.RegistrationNumber = d.string()
		f.DocNumber = d.uvarint()
		f.Shift = d.uvarint()
		f.Date = d.time()
		f.QR = d.string()
		f.Total = d.uvarint()
		f.FromCache = d.bool()
		r.Fiscal = f
	}
	if d.err != nil {
		return Receipt{}, d.err
	}
	if len(d.b) != 0 {
		return Receipt{}, fmt.Errorf("%d trailing bytes", len(d.b))
	}
	return r, nil
}

// encodeCursor and decodeCursor handle shops/<shop>/cursor.
func encodeCursor(c Cursor) []byte {
	e := encoder{}
	e.string(c.UpdatedAt)
	e.varint(c.ID)
	return e.b
}

func decodeCursor(v []byte) (Cursor, error) {
	d := decoder{b: v}
	c := Cursor{UpdatedAt: d.string(), ID: d.varint()}
	if d.err == nil && len(d.b) != 0 {
		d.fail(fmt.Errorf("%d trailing bytes", len(d.b)))
	}
	if d.err != nil {
		return Cursor{}, d.err
	}
	return c, nil
}

func encodeTime(t time.Time) []byte {
	e := encoder{}
	e.time(t)
	return e.b
}

func decodeTime(v []byte) (time.Time, error) {
	if v == nil {
		return time.Time{}, nil
	}
	d := decoder{b: v}
	t := d.time()
	if d.err == nil && len(d.b) != 0 {
		d.fail(fmt.Errorf("%d trailing bytes", len(d.b)))
	}
	return t, d.err
}

func id8(id uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), id)
}

// Index keys. See the schema in the package documentation.

func keyKey(k Key) []byte {
	b := make([]byte, 0, 8+len(k.Shop)+1+len(k.Kind))
	b = binary.BigEndian.AppendUint64(b, uint64(k.OrderID))
	b = append(b, k.Shop...)
	b = append(b, 0)
	return append(b, k.Kind...)
}

func orderPrefix(orderID int64, shop string) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(shop)+1), uint64(orderID))
	if shop != "" {
		b = append(append(b, shop...), 0)
	}
	return b
}

func join(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n+8)
	for _, p := range parts {
		b = append(append(b, p...), 0)
	}
	return b
}

func withID(prefix []byte, id uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), prefix...), id)
}

func shopPrefix(shop string) []byte               { return join(shop) }
func statePrefix(s State) []byte                  { return join(string(s)) }
func shopStatePrefix(shop string, s State) []byte { return join(shop, string(s)) }

func numberPrefix(number, shop string) []byte {
	if shop == "" {
		return join(number)
	}
	return join(number, shop)
}
