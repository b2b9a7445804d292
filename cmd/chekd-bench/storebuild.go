package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chekd/chekd/daemon"
	"github.com/chekd/chekd/daemon/config"
	"github.com/chekd/chekd/fiscal"
	"github.com/chekd/chekd/fiscal/receipt"
	"github.com/chekd/chekd/insales"
	"github.com/chekd/chekd/store"
)

// storeSpec is the store the start-up figure runs on.
type storeSpec struct {
	Shop     string // every record belongs to this shop
	Total    int    // receipts in the store
	Pending  int    // of which are pending (resent at start-up); the rest are printed
	Settings config.Shop
}

// buildStore writes a store of spec.Total receipts at path through the
// store's exported API, as the daemon would have left it: every receipt is
// created pending by SaveBatch, pages of 10,000 with the cursor, and all but
// spec.Pending are then marked printed by 512 concurrent callers, whose
// transitions bbolt batches into shared transactions.
func buildStore(ctx context.Context, path string, spec storeSpec, progress io.Writer) error {
	db, err := store.Open(path, store.Options{Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	tmpl, err := templateRequest(spec.Settings)
	if err != nil {
		return err
	}
	// The pending ones are spread through the file, as a backlog would be.
	every := spec.Total
	if spec.Pending > 0 {
		every = spec.Total / spec.Pending
	}
	isPending := func(i int) bool { return spec.Pending > 0 && i%every == every-1 && i/every < spec.Pending }

	const page = 10_000
	created := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)
	for done := 0; done < spec.Total; done += page {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(page, spec.Total-done)
		intents := make([]store.Receipt, n)
		for j := range intents {
			i := done + j
			orderID := int64(100001 + i)
			req := tmpl
			req.RequestID = receipt.RequestID(spec.Shop, orderID, receipt.KindSale, 0)
			req.PhoneOrEmail = fmt.Sprintf("buyer%d@example.com", i)
			body, err := json.Marshal(req)
			if err != nil {
				return fmt.Errorf("chekd-bench: encode a request: %w", err)
			}
			intents[j] = store.Receipt{
				Key:         store.Key{Shop: spec.Shop, OrderID: orderID, Kind: store.Kind(receipt.KindSale)},
				OrderNumber: fmt.Sprint(1001 + i),
				RequestID:   req.RequestID,
				State:       store.StatePending,
				Body:        body,
				Contact:     req.PhoneOrEmail,
				Total:       int64(req.NonCash[0]),
				CreatedAt:   created.Add(time.Duration(i) * 20 * time.Second),
			}
		}
		last := intents[n-1]
		cur := &store.Cursor{UpdatedAt: last.CreatedAt.Format("2006-01-02T15:04:05.000-07:00"), ID: last.OrderID}
		if _, err := db.SaveBatch(spec.Shop, intents, cur); err != nil {
			return err
		}
		if progress != nil && (done/page)%20 == 19 {
			fmt.Fprintf(progress, "  store: %d of %d receipts created\n", done+n, spec.Total)
		}
	}

	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range 512 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= spec.Total || ctx.Err() != nil {
					return
				}
				if isPending(i) {
					continue
				}
				orderID := int64(100001 + i)
				at := created.Add(time.Duration(i)*20*time.Second + 3*time.Second)
				f := store.Fiscal{
					FiscalDocNumber: uint64(i + 2), FiscalSign: uint64(3_000_000_000 + i), FNSerial: "9999078900012345",
					RegistrationNumber: "0001234567012345", DocNumber: uint64(i%5000 + 1), Shift: uint64(i/5000 + 1),
					Date: at, QR: fmt.Sprintf("t=%s&s=2800.00&fn=9999078900012345&i=%d&fp=%d&n=1", at.Format("20060102T1504"), i+2, 3_000_000_000+i),
					Total: 280000,
				}
				if err := db.MarkPrinted(store.Key{Shop: spec.Shop, OrderID: orderID, Kind: store.Kind(receipt.KindSale)}, f, at); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	counts, err := db.Counts(spec.Shop)
	if err != nil {
		return err
	}
	if counts[store.StatePending] != spec.Pending || counts[store.StatePrinted] != spec.Total-spec.Pending {
		return fmt.Errorf("chekd-bench: built store holds %v, want %d pending and %d printed", counts, spec.Pending, spec.Total-spec.Pending)
	}
	return nil
}

// templateRequest is the receipt of the bench's standard order, built by the
// product's own receipt rules.
func templateRequest(sc config.Shop) (fiscal.Request, error) {
	o := benchOrder(1, "template@example.com")
	o.ID = 100001
	o.Number = "1001"
	o.FulfillmentStatus = "dispatched"
	req, err := receipt.Build(o, daemon.Settings(sc), receipt.KindSale, "template")
	if err != nil {
		return fiscal.Request{}, fmt.Errorf("chekd-bench: build the template receipt: %w", err)
	}
	return req, nil
}

// benchOrder is the order every figure uses: two goods lines and delivery,
// paid online by card (gateway 1797 of the fake shop).
func benchOrder(i int, email string) insales.Order {
	return insales.Order{
		PaymentGatewayID:  cardGateway,
		PaymentTitle:      "Банковской картой онлайн",
		FinancialStatus:   "paid",
		FullDeliveryPrice: 30000,
		DeliveryPrice:     30000,
		ItemsPrice:        250000,
		TotalPrice:        280000,
		Client:            insales.Buyer{Email: email, Phone: "+7 999 123 45 67", Name: "Покупатель"},
		Lines: []insales.OrderLine{
			{Title: "Чайник «Уют»", Quantity: 1000, SalePrice: 150000, FullSalePrice: 150000, TotalPrice: 150000, FullTotalPrice: 150000, VAT: insales.NoVAT},
			{Title: "Кружка", Quantity: 2000, SalePrice: 50000, FullSalePrice: 50000, TotalPrice: 100000, FullTotalPrice: 100000, VAT: 22},
		},
	}
}
