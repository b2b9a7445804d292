// Package fakes runs chekd's test doubles as a long-lived service: several
// fake InSales shops (insalestest) and one fake TLS Chekonline register
// (chekonlinetest), each on its own loopback listener, plus a JSON control
// API to create orders, move them through statuses, inject faults and read
// the register's ledger. It also holds the control API's client, so that a
// driver in another process (cmd/chekd-chaos) speaks the same wire types.
//
// Because the service outlives the chekd processes it serves, the register's
// answer cache and ledger survive any number of chekd crashes, as the real
// cloud's would.
//
// It must never listen on anything but a loopback address, never be named in
// a production config, and never print a secret (the shops' passwords and
// the client key go to files, never to stdout or a log line).
package fakes

import (
	"fmt"
	"time"

	"github.com/chekd/chekd/fiscal/chekonlinetest"
	"github.com/chekd/chekd/insales/insalestest"
)

// Payment gateways every fake shop offers (insalestest's defaults).
const (
	CardGateway = 1797 // «Банковской картой онлайн»: cashless, needs receipts
	CODGateway  = 2958 // «Наложенным платежом»: cash on delivery, fiscalised by the courier
)

// Ready is the one JSON line chekd-fakes prints on stdout once every
// listener serves. It names files, never secrets.
type Ready struct {
	Control  string     `json:"control"`   // base URL of the control API
	Register string     `json:"register"`  // https://127.0.0.1:PORT
	CAFile   string     `json:"ca_file"`   // PEM: the CA of the register's server certificate
	CertFile string     `json:"cert_file"` // PEM: the client certificate chain the register accepts
	KeyFile  string     `json:"key_file"`  // PEM: its private key (PKCS#8, mode 0600)
	Shops    []ShopInfo `json:"shops"`
}

// ShopInfo is one fake shop as a chekd config needs it.
type ShopInfo struct {
	Name              string `json:"name"`
	URL               string `json:"url"`
	APIKey            string `json:"api_key"`
	PasswordFile      string `json:"password_file"` // mode 0600
	RateRequests      int    `json:"rate_requests"` // the fake's limit per RateWindowSeconds
	RateWindowSeconds int    `json:"rate_window_seconds"`
	WholeSeconds      bool   `json:"whole_seconds"` // updated_at has whole-second resolution
}

// NewOrder is an order to create. Money is in kopecks, quantities in
// thousandths.
type NewOrder struct {
	Payment  string    `json:"payment"` // "card" or "cod"
	Email    string    `json:"email"`
	Phone    string    `json:"phone,omitempty"`
	Delivery int64     `json:"delivery"` // delivery price, kopecks
	Lines    []NewLine `json:"lines"`
}

// NewLine is one line of a NewOrder.
type NewLine struct {
	Title    string `json:"title"`
	Quantity int64  `json:"quantity"` // thousandths: 2 pieces → 2000
	Price    int64  `json:"price"`    // kopecks per unit
	VAT      int    `json:"vat"`      // percent as InSales gives it; -1 for "not given"
}

// CreateOrders is the body of POST /shops/{shop}/orders.
type CreateOrders struct {
	Orders []NewOrder `json:"orders"`
}

// Created is one created order.
type Created struct {
	ID     int64  `json:"id"`
	Number string `json:"number"`
	Email  string `json:"email"`
	Total  int64  `json:"total"` // kopecks
}

// CreatedOrders is the answer to POST /shops/{shop}/orders.
type CreatedOrders struct {
	Orders []Created `json:"orders"`
}

// StatusChange moves one order to a status (a custom status permalink or a
// fulfillment status), as a merchant would.
type StatusChange struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
}

// SetStatuses is the body of POST /shops/{shop}/statuses.
type SetStatuses struct {
	Changes []StatusChange `json:"changes"`
}

// ShopFault is a burst of one InSales fault: Count answers in a row.
type ShopFault struct {
	Kind  string `json:"kind"` // insalestest.Fault names: 429, 503, 503-rate-limited, malformed, drop, ...
	Count int    `json:"count"`
}

// ShopFaults is the body of POST /shops/{shop}/faults.
type ShopFaults struct {
	Faults       []ShopFault `json:"faults,omitempty"`
	IgnoreFromID *bool       `json:"ignore_from_id,omitempty"` // switch from_id handling off or on
}

// ShopStats is the answer to GET /shops/{shop}/stats.
type ShopStats struct {
	Orders        int      `json:"orders"`
	Requests      int      `json:"requests"`
	OrderRequests int      `json:"order_requests"` // GET /admin/orders.json
	RateLimited   int      `json:"rate_limited"`   // refused by the fake's own limit
	PendingFaults int      `json:"pending_faults"`
	IgnoreFromID  bool     `json:"ignore_from_id"`
	Violations    []string `json:"violations"` // protocol errors a correct client never makes
}

// RegisterFault is one register misbehaviour, used by one Complex request.
type RegisterFault struct {
	// Kind is fce, register, delay, http_502, print_then_drop, truncated or
	// http_status.
	Kind    string `json:"kind"`
	Code    int    `json:"code,omitempty"`     // FCE error, register error or HTTP status
	DelayMS int64  `json:"delay_ms,omitempty"` // for delay: how long the answer is held
}

// RegisterFaults is the body of POST /register/faults.
type RegisterFaults struct {
	Faults []RegisterFault `json:"faults"`
}

// Document is one printed receipt in the register's ledger.
type Document struct {
	FiscalDocNumber uint64    `json:"fiscal_doc_number"`
	FiscalSign      uint64    `json:"fiscal_sign"`
	RequestID       string    `json:"request_id"`
	ClientID        string    `json:"client_id"`
	Group           string    `json:"group"`
	DocumentType    uint8     `json:"document_type"`
	Total           uint64    `json:"total"` // kopecks
	Contact         string    `json:"contact"`
	Time            time.Time `json:"time"`
}

// Ledger is the answer to GET /register/ledger.
type Ledger struct {
	Documents []Document `json:"documents"`
}

// RegisterStats is the answer to GET /register/stats.
type RegisterStats struct {
	Requests      int `json:"requests"`       // every HTTP request
	Complex       int `json:"complex"`        // Complex POSTs
	CacheHits     int `json:"cache_hits"`     // answers from the answer cache
	Printed       int `json:"printed"`        // documents in the ledger
	Rejected      int `json:"rejected"`       // requests that failed validation
	Faults        int `json:"faults"`         // injected faults used
	Conflicts     int `json:"conflicts"`      // a cached RequestId seen again with a different body
	MaxConcurrent int `json:"max_concurrent"` // most requests at once
	PendingFaults int `json:"pending_faults"` // injected faults not used yet
}

// Error is the body of every answer that is not 200.
type Error struct {
	Error string `json:"error"`
}

// maxDelay bounds a delay fault: long enough to outlast any client timeout,
// short enough that a forgotten fault does not hold a connection for ever.
const maxDelay = 10 * time.Minute

// parseShopFault checks one InSales fault burst.
func parseShopFault(f ShopFault) (insalestest.Fault, error) {
	kind, ok := insalestest.ParseFault(f.Kind)
	if !ok {
		return 0, fmt.Errorf("unknown shop fault %q (one of: 500, 503, 503-rate-limited, 429, 429-no-retry-after, malformed, slow, drop)", f.Kind)
	}
	if f.Count < 1 || f.Count > 1000 {
		return 0, fmt.Errorf("shop fault %q: count %d must be 1..1000", f.Kind, f.Count)
	}
	return kind, nil
}

// parseRegisterFault turns a wire fault into the fake register's.
func parseRegisterFault(f RegisterFault) (chekonlinetest.Fault, error) {
	switch f.Kind {
	case "fce":
		if f.Code < 1 || f.Code > 255 {
			return chekonlinetest.Fault{}, fmt.Errorf("fce fault: code %d must be 1..255", f.Code)
		}
		return chekonlinetest.FCE(f.Code), nil
	case "register":
		if f.Code < 1 || f.Code > 255 {
			return chekonlinetest.Fault{}, fmt.Errorf("register fault: code %d must be 1..255", f.Code)
		}
		return chekonlinetest.RegisterError(f.Code), nil
	case "delay":
		d := time.Duration(f.DelayMS) * time.Millisecond
		if f.DelayMS < 1 || d > maxDelay {
			return chekonlinetest.Fault{}, fmt.Errorf("delay fault: delay_ms %d must be 1..%d", f.DelayMS, maxDelay.Milliseconds())
		}
		return chekonlinetest.Delay(d), nil
	case "http_502":
		return chekonlinetest.HTTP502(), nil
	case "print_then_drop":
		return chekonlinetest.PrintThenDrop(), nil
	case "truncated":
		return chekonlinetest.Truncated(), nil
	case "http_status":
		if f.Code < 400 || f.Code > 599 {
			return chekonlinetest.Fault{}, fmt.Errorf("http_status fault: code %d must be 400..599", f.Code)
		}
		return chekonlinetest.HTTPStatus(f.Code), nil
	}
	return chekonlinetest.Fault{}, fmt.Errorf("unknown register fault %q (one of: fce, register, delay, http_502, print_then_drop, truncated, http_status)", f.Kind)
}
