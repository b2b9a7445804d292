package receipt

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// MaxRequestID is the longest RequestId this package makes.
const MaxRequestID = 64

// RequestID is the register's idempotency key for one receipt: deterministic
// in (shop, order, kind, generation), at most 64 characters, readable where it
// fits: "myshop-123456789-sale" for generation 1, then "…-sale-2", "…-sale-3"
// for later generations (the suffix the register's vendor suggests).
// Generations count from 1, as the store keeps them (0 and negative ones are
// taken as 1); a generation is bumped only when a person retries after a
// permanent error, because the register caches its answer to every
// RequestId, refusals included.
//
// A shop name that is not already a short lowercase ASCII slug is slugged and
// followed by a short hash of the exact name, so two names never share a
// prefix by accident. When the readable form would exceed 64 characters the
// key is a hash of all four parts instead.
func RequestID(shop string, orderID int64, kind Kind, generation int) string {
	if generation < 1 {
		generation = 1
	}
	id := shopPart(shop) + "-" + strconv.FormatInt(orderID, 10) + "-" + string(kind)
	if generation > 1 {
		id += "-" + strconv.Itoa(generation)
	}
	if len(id) <= MaxRequestID {
		return id
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%s\x00%d", shop, orderID, kind, generation))
	return "chekd-" + hex.EncodeToString(sum[:])[:MaxRequestID-len("chekd-")]
}

const maxSlug = 20

func shopPart(shop string) string {
	var b strings.Builder
	dash := false
	for i := 0; i < len(shop) && b.Len() < maxSlug; i++ {
		c := shop[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
			fallthrough
		case (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'):
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteByte(c)
		default:
			dash = true
		}
	}
	slug := b.String()
	if slug == shop && slug != "" {
		return slug
	}
	sum := sha256.Sum256([]byte(shop))
	h := hex.EncodeToString(sum[:3])
	if slug == "" {
		return "shop-" + h
	}
	return slug + "-" + h
}
