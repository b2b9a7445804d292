package store

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchBody is a request body of typical size (about 1 KB): three goods
// lines with Russian names, delivery, contact and place.
func benchBody(shop string, order int64) []byte {
	return fmt.Appendf(nil, `{"Device":"auto","Password":1,"RequestId":"%s-%d-sale-1","ClientId":"%s","Group":"main","DocumentType":0,`+
		`"Lines":[{"Qty":1000,"Price":249900,"PayAttribute":4,"TaxId":11,"Description":"Чайник электрический Bosch TWK 3A011, белый","LineAttribute":1},`+
		`{"Qty":2000,"Price":59000,"PayAttribute":4,"TaxId":11,"Description":"Фильтр для воды картридж сменный, 2 шт.","LineAttribute":1},`+
		`{"Qty":1500,"Price":32050,"PayAttribute":4,"TaxId":11,"Description":"Кофе в зёрнах, весовой, Эфиопия Иргачефф","LineAttribute":1},`+
		`{"Qty":1000,"Price":35000,"PayAttribute":4,"TaxId":11,"Description":"Доставка курьером","LineAttribute":4}],`+
		`"NonCash":[509975],"TaxMode":1,"PhoneOrEmail":"buyer%d@example.com","Place":"https://%s.example.ru","MaxDocumentsInTurn":5000,"FullResponse":true}`,
		shop, order, shop, order, shop)
}

func benchIntent(shop string, order int64) Receipt {
	return Receipt{
		Key:         Key{Shop: shop, OrderID: order, Kind: "sale"},
		OrderNumber: fmt.Sprint(100000 + order),
		RequestID:   fmt.Sprintf("%s-%d-sale-1", shop, order),
		State:       StatePending,
		Body:        benchBody(shop, order),
		Contact:     fmt.Sprintf("buyer%d@example.com", order),
		Total:       509975,
	}
}

func fileSize(b *testing.B, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

// BenchmarkIntentPrinted measures the whole life of a receipt in the store
// with fsync: intents saved a page of 100 at a time (as the poller does) and
// marked printed by 8 or 32 concurrent senders (batched transactions), and one at
// a time with no concurrency at all.
func BenchmarkIntentPrinted(b *testing.B) {
	for _, senders := range []int{8, 32} {
		b.Run(fmt.Sprintf("page100_senders%d", senders), func(b *testing.B) { benchPages(b, senders) })
	}
	b.Run("single_sequential", func(b *testing.B) {
		db, err := Open(filepath.Join(b.TempDir(), "chekd.db"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		b.ResetTimer()
		start := time.Now()
		for i := 1; i <= b.N; i++ {
			r, err := db.Create(benchIntent("shop", int64(i)))
			if err != nil {
				b.Fatal(err)
			}
			if err := db.MarkPrinted(r.Key, fiscalFor(int64(i)), time.Time{}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "receipts/s")
	})
}

func benchPages(b *testing.B, senders int) {
	db, err := Open(filepath.Join(b.TempDir(), "chekd.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	for done := 0; done < b.N; done += 100 {
		n := min(100, b.N-done)
		page := make([]Receipt, n)
		for i := range page {
			page[i] = benchIntent("shop", int64(done+i+1))
		}
		if _, err := db.SaveBatch("shop", page, &Cursor{UpdatedAt: "2026-03-01T10:00:00.000+03:00", ID: int64(done + n)}); err != nil {
			b.Fatal(err)
		}
		next.Store(int64(done))
		var wg sync.WaitGroup
		for w := 0; w < senders; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					o := next.Add(1)
					if o > int64(done+n) {
						return
					}
					if err := db.MarkPrinted(Key{"shop", o, "sale"}, fiscalFor(o), time.Time{}); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "receipts/s")
	// Includes pages freed by copy-on-write and not yet reused: a small,
	// freshly churned file. The 1,000,000-receipt figure is the steady one.
	b.ReportMetric(float64(fileSize(b, db.Path()))/float64(b.N), "file_bytes/receipt")
}

// BenchmarkQuery1M builds a store of 1,000,000 receipts of three shops
// (once, in large transactions), reports its size per receipt, then
// measures the status page's queries on it.
func BenchmarkQuery1M(b *testing.B) {
	const total = 1_000_000
	const chunk = 20_000
	shops := []string{"alpha", "beta", "gamma"}
	path := filepath.Join(b.TempDir(), "chekd.db")
	db, err := Open(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	built := time.Now()
	printedAt := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for done := 0; done < total; done += chunk {
		err := db.update(func(bk *buckets) error {
			for i := done; i < done+chunk; i++ {
				order := int64(i + 1)
				r := benchIntent(shops[i%len(shops)], order)
				id, err := bk.receipts.NextSequence()
				if err != nil {
					return err
				}
				r.ID, r.Generation = id, 1
				r.CreatedAt = printedAt.Add(time.Duration(i) * time.Second)
				r.UpdatedAt = r.CreatedAt
				switch {
				case i%1000 == 7:
					r.State = StatePending
				case i%500 == 3:
					r.State, r.LastClass, r.LastError, r.Attempts = StateFailed, "permanent", "register error 51: wrong sum", 1
				default:
					f := fiscalFor(order)
					r.State, r.Fiscal, r.PrintedAt, r.Attempts = StatePrinted, &f, r.CreatedAt, 1
				}
				if err := bk.insert(&r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	size := fileSize(b, path)
	b.Logf("built %d receipts in %s, file %d MB", total, time.Since(built).Round(time.Second), size>>20)
	perReceipt := float64(size) / total

	queries := []struct {
		name string
		run  func() (int, error)
	}{
		{"newest100", func() (int, error) { r, _, err := db.List(Filter{Limit: 100}); return len(r), err }},
		{"newest100_shop", func() (int, error) { r, _, err := db.List(Filter{Shop: "beta", Limit: 100}); return len(r), err }},
		{"newest100_shop_failed", func() (int, error) {
			r, _, err := db.List(Filter{Shop: "gamma", State: StateFailed, Limit: 100})
			return len(r), err
		}},
		{"newest100_page500", func() (int, error) {
			r, _, err := db.List(Filter{Limit: 100, Before: total - 50_000})
			return len(r), err
		}},
		{"pending_all", func() (int, error) { r, err := db.Pending(); return len(r), err }},
		{"counts", func() (int, error) { c, err := db.Counts(""); return c[StatePrinted], err }},
	}
	for _, q := range queries {
		b.Run(q.name, func(b *testing.B) {
			for b.Loop() {
				n, err := q.run()
				if err != nil || n == 0 {
					b.Fatal(n, err)
				}
			}
			b.ReportMetric(perReceipt, "bytes/receipt")
		})
	}
}
