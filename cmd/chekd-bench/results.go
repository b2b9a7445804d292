package main

import (
	"fmt"

	"strings"
	"time"
)

// Targets from the issue.
const (
	targetReceiptsPerSec = 1000
	targetIdleRSS        = 64 << 20
	targetStartup        = time.Second
)

// results are the end-to-end measurements that ran (nil: not run).
type results struct {
	throughput *throughput
	counts     *counts
	delay      *delays
	idle       *idle
	startup    *startup
}

// missedBy says by how much got falls short of want, in percent of want.
func missedBy(got, want float64) string {
	return fmt.Sprintf("no: missed by %.0f%%", 100*(want-got)/want)
}

// over says by how much got exceeds a ceiling, in percent of it.
func over(got, ceiling float64) string {
	return fmt.Sprintf("no: %.0f%% over", 100*(got-ceiling)/ceiling)
}

// pages is the fewest order-list requests that read n changed orders:
// ⌈n/perPage⌉ pages and the empty page that ends the scan.
func pages(n, perPage int) int { return (n+perPage-1)/perPage + 1 }

// rows turns the results into table rows and notes. cores is the machine's
// core count; self the command that measured them.
func (r results) rows(cores int, self string) ([]row, []string) {
	var rows []row
	var notes []string
	if t := r.throughput; t != nil {
		src := self + " -only throughput"
		rate := float64(t.Orders) / t.Elapsed.Seconds()
		cpuPer := t.CPU / time.Duration(t.Orders)
		cpuCeiling := time.Duration(float64(cores) * float64(time.Second) / targetReceiptsPerSec)
		util := t.CPU.Seconds() / (t.Elapsed.Seconds() * float64(cores))
		met := "yes"
		if rate < targetReceiptsPerSec {
			met = missedBy(rate, targetReceiptsPerSec)
		}
		rows = append(rows, row{
			Figure: "End to end: receipts per second (loopback fakes, fsync on, register rate and in-flight raised)",
			Value:  fmt.Sprintf("%s receipts/s (%s receipts in %s, from process start)", sig3(rate), thousands(int64(t.Orders)), fmtDuration(t.Elapsed)),
			Target: fmt.Sprintf("≥ %s receipts/s", thousands(targetReceiptsPerSec)), Met: met, Source: src,
		})
		met = "yes"
		if cpuPer > cpuCeiling {
			met = over(float64(cpuPer), float64(cpuCeiling))
		}
		rows = append(rows, row{
			Figure: "End to end: chekd CPU per receipt (user + system)",
			Value:  fmt.Sprintf("%s (chekd used %.0f%% of %d cores)", fmtDuration(cpuPer), 100*util, cores),
			Target: fmt.Sprintf("≤ %s (%d cores at %s receipts/s)", fmtDuration(cpuCeiling), cores, thousands(targetReceiptsPerSec)),
			Met:    met, Source: src,
		})
		notes = append(notes, fmt.Sprintf("End to end: `chekd run` is a child process (the binary `make build` makes) with one shop, "+
			"insales.per_page %d, register.rate 100000 and register.max_in_flight 16, against a fake InSales shop and a fake TLS "+
			"register (client certificate required) served by chekd-bench on loopback; %s orders are already in a sale status when "+
			"it starts. Time runs from process start to the register printing the last receipt. CPU is chekd's own, "+
			"from getrusage after a graceful stop, over its whole life (start, %s receipts, stop); the fakes' CPU is not in it, "+
			"but they share the same %d cores. chekd's peak RSS in this run: %s.",
			t.PerPage, thousands(int64(t.Orders)), thousands(int64(t.Orders)), cores, fmtBytes(float64(t.MaxRSSKB)*1024)))
		if rate < targetReceiptsPerSec {
			notes = append(notes, throughputWhy(rate, util, cpuPer, cores))
		}
		perReceipt := float64(t.RegRequests) / float64(t.Printed)
		met = "yes"
		if t.RegRequests > t.Printed {
			met = fmt.Sprintf("no: %d extra requests", t.RegRequests-t.Printed)
		}
		rows = append(rows, row{
			Figure: "Register requests per printed receipt, no faults",
			Value:  fmt.Sprintf("%.2f (%s requests, %s receipts)", perReceipt, thousands(int64(t.RegRequests)), thousands(int64(t.Printed))),
			Target: "minimum 1.00", Met: met, Source: src,
		})
		minPages := pages(t.Orders, t.PerPage)
		met = "yes"
		if t.InSalesRequests > minPages {
			met = fmt.Sprintf("no: %d more", t.InSalesRequests-minPages)
		}
		rows = append(rows, row{
			Figure: fmt.Sprintf("InSales requests to read a backlog of %s changed orders (per_page %d)", thousands(int64(t.Orders)), t.PerPage),
			Value:  thousands(int64(t.InSalesRequests)),
			Target: fmt.Sprintf("minimum ⌈%d/%d⌉ + 1 = %d", t.Orders, t.PerPage, minPages), Met: met, Source: src,
		})
	}
	if c := r.counts; c != nil {
		src := self + " -only counts"
		met := "yes"
		if c.IdleLone > 1 {
			met = fmt.Sprintf("no: %d more", c.IdleLone-1)
		}
		rows = append(rows, row{
			Figure: "InSales requests per shop per idle poll",
			Value: fmt.Sprintf("%d (%d on the first idle poll after a change, which re-reads the 5 s overlap once); %d after a burst of %s changes; %d for a shop with no orders",
				c.IdleLone, c.IdleFirst, c.IdleAfterBurst, thousands(int64(c.Changed)), c.IdleEmpty),
			Target: "minimum 1", Met: met, Source: src,
		})
		minPages := pages(c.Changed, c.PerPage)
		met = "yes"
		if c.ChangedPoll > minPages {
			met = fmt.Sprintf("no: %d more", c.ChangedPoll-minPages)
		}
		rows = append(rows, row{
			Figure: fmt.Sprintf("InSales requests per %s changed orders (one poll, per_page %d)", thousands(int64(c.Changed)), c.PerPage),
			Value:  fmt.Sprintf("%d (%d orders re-read from the overlap window)", c.ChangedPoll, c.OverlapReReads),
			Target: fmt.Sprintf("minimum ⌈%d/%d⌉ + 1 = %d", c.Changed, c.PerPage, minPages), Met: met, Source: src,
		})
		notes = append(notes, "InSales requests are counted at the fake around single polls (`PollNow`) of the daemon run in "+
			"chekd-bench's process with `chekd run`'s defaults; the fake stamps updated_at (and its Date header) from a clock "+
			"moved by hand, 10 s between the steps and between idle polls, as the schedule moves it between real polls.")
		notes = append(notes, "Idle polls: a poll re-reads the 5 s before its cursor (against InSales committing out of "+
			"clock order) only while the last complete scan ended, by the server's Date header, within 5 s of the cursor; "+
			"after that, every later commit carries an updated_at after the cursor, so an idle poll is one request "+
			"(insales.Client.ChangedOrders).")
		if c.IdleLone > 1 || c.IdleAfterBurst > 1 || c.ChangedPoll > minPages {
			notes = append(notes, "InSales requests over the minimum: see the counts above; the overlap re-read is the cause.")
		}
	}
	if d := r.delay; d != nil {
		rows = append(rows, row{
			Figure: fmt.Sprintf("Delay from an order's status change to its printed receipt, schedule %q", d.Schedule),
			Value:  fmt.Sprintf("p50 %s, p99 %s (max %s; %d orders changed at random moments over %s)", fmtDuration(d.P50), fmtDuration(d.P99), fmtDuration(d.Max), d.Orders, fmtDuration(d.Window)),
			Source: self + " -only delay",
		})
		notes = append(notes, "Delay: from the order's updated_at at the fake shop to the fake register's print time, both "+
			"on this machine's clock. A change waits for the next scheduled poll (up to the schedule's 1 s, robfig/cron "+
			"firing on whole seconds), then one page read, one fsync'd intent batch and one register call.")
	}
	if i := r.idle; i != nil {
		met := "yes"
		if i.VmHWM > targetIdleRSS {
			met = over(float64(i.VmHWM), targetIdleRSS)
		}
		rows = append(rows, row{
			Figure: fmt.Sprintf("Peak RSS with %s shops configured and idle", thousands(int64(i.Shops))),
			Value:  fmt.Sprintf("%s (VmHWM after %s healthy, first poll of every shop included; %s order-list requests)", fmtBytes(float64(i.VmHWM)), fmtDuration(i.Duration), thousands(int64(i.Requests))),
			Target: "≤ 64 MB", Met: met, Source: self + " -only idle",
		})
		notes = append(notes, fmt.Sprintf("Idle: %s shops, schedule \"@every 1m\", register.rate and register.max_in_flight at their defaults, no orders; each shop's insales.url is its own "+
			"loopback port of one fake shop, since chekd refuses two shops with the same insales.url (every order would get "+
			"two receipts). All shops share one register and the fake's one credential pair.", thousands(int64(i.Shops))))
		notes = append(notes, fmt.Sprintf("Idle, at the end, from chekd's /metrics: %s goroutines (%s per shop), %s of goroutine "+
			"stacks, %s of heap in use.", thousands(i.Go.Goroutines), sig3(float64(i.Go.Goroutines)/float64(i.Shops)),
			fmtBytes(float64(i.Go.StackBytes)), fmtBytes(float64(i.Go.HeapBytes))))
		if i.VmHWM > targetIdleRSS {
			notes = append(notes, fmt.Sprintf("Idle memory is %s over the 64 MB target, %s per configured shop. What each "+
				"shop holds: its parsed certificate and key, two HTTP clients (InSales and the register) with their "+
				"connection pools, its poll job and sender goroutine, and the first poll's page buffers; shops naming "+
				"the same ca_file share one CA pool, and send goroutines exist only while something is being sent. The "+
				"peak includes the first poll of every shop at start-up, and the heap may grow to twice what is live "+
				"before the collector runs (GOGC 100).",
				fmtBytes(float64(i.VmHWM-targetIdleRSS)), fmtBytes(float64(i.VmHWM)/float64(i.Shops))))
		}
	}
	if s := r.startup; s != nil {
		worst := s.Runs[0]
		var each []string
		for _, d := range s.Runs {
			worst = max(worst, d)
			each = append(each, fmtDuration(d))
		}
		met := "yes"
		if worst > targetStartup {
			met = over(float64(worst), float64(targetStartup))
		}
		rows = append(rows, row{
			Figure: fmt.Sprintf("Start-up with %s receipts in the store (process start → /healthz 200)", thousands(int64(s.Receipts))),
			Value: fmt.Sprintf("%s, worst of %d starts (%s; the first with %s pending); file %s",
				fmtDuration(worst), len(s.Runs), strings.Join(each, ", "), thousands(int64(s.Pending)), fmtBytes(float64(s.FileBytes))),
			Target: "≤ 1 s", Met: met, Source: self + " -only startup",
		})
		notes = append(notes, fmt.Sprintf("Start-up: the store is built through the store's API (SaveBatch pages of 10,000, "+
			"then MarkPrinted from 512 concurrent callers) in %s, so the file is in the page cache: these are warm starts.",
			fmtDuration(s.Build)))
	}
	return rows, notes
}

// throughputWhy explains a missed throughput target from what was measured:
// a chekd that kept the cores busy is CPU-bound; one that did not waited.
func throughputWhy(rate, util float64, cpuPer time.Duration, cores int) string {
	if util >= 0.8 {
		return fmt.Sprintf("End to end is CPU-bound: chekd kept %.0f%% of %d cores busy at %s of CPU per receipt, so %d cores "+
			"cannot give more than %s receipts/s; the time per receipt has to come down.",
			100*util, cores, fmtDuration(cpuPer), cores, sig3(float64(cores)*float64(time.Second)/float64(cpuPer)))
	}
	return fmt.Sprintf("End to end reached %s receipts/s while chekd used only %.0f%% of %d cores: it waits rather than works. "+
		"Each printed receipt is one MarkPrinted transaction with fsync, shared (bbolt Batch) only by the at most "+
		"register.max_in_flight sends in flight; the rate is bounded by 16 receipts per fsync round trip.",
		sig3(rate), 100*util, cores)
}
