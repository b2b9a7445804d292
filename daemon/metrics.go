package daemon

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/chekd/chekd/store"
)

// Metrics are chekd's Prometheus metrics, on a registry of their own.
type Metrics struct {
	Registry *prometheus.Registry

	polls         *prometheus.CounterVec
	pollErrors    *prometheus.CounterVec
	ordersSeen    *prometheus.CounterVec
	receipts      *prometheus.CounterVec
	printDelay    *prometheus.HistogramVec
	regLatency    *prometheus.HistogramVec
	regErrors     *prometheus.CounterVec
	insRequests   *prometheus.CounterVec
	insLimited    *prometheus.CounterVec
	insUsage      *prometheus.GaugeVec
	insUsageLimit *prometheus.GaugeVec
}

// NewMetrics registers every metric.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chekd_polls_total", Help: "InSales poll cycles run, per shop.",
		}, []string{"shop"}),
		pollErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chekd_poll_errors_total", Help: "InSales poll cycles that failed, per shop.",
		}, []string{"shop"}),
		ordersSeen: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chekd_orders_seen_total", Help: "Changed orders read from InSales (re-reads included), per shop.",
		}, []string{"shop"}),
		receipts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chekd_receipts_total", Help: "Receipt records that reached a state, per shop, kind and state.",
		}, []string{"shop", "kind", "state"}),
		printDelay: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "chekd_receipt_print_delay_seconds", Help: "Time from a receipt's intent to its printing.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}, []string{"shop"}),
		regLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "chekd_register_request_duration_seconds", Help: "Duration of register requests.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}, []string{"shop"}),
		regErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chekd_register_errors_total", Help: "Failed register requests by error class.",
		}, []string{"shop", "class"}),
		insRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chekd_insales_requests_total", Help: "Requests to the InSales API by HTTP status (0: no answer).",
		}, []string{"shop", "code"}),
		insLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chekd_insales_rate_limited_total", Help: "InSales answers 429 (or 503) asking chekd to slow down.",
		}, []string{"shop"}),
		insUsage: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "chekd_insales_api_usage", Help: "Requests used in the current InSales window (API-Usage-Limit).",
		}, []string{"shop"}),
		insUsageLimit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "chekd_insales_api_usage_limit", Help: "Requests allowed per InSales window (API-Usage-Limit).",
		}, []string{"shop"}),
	}
	m.Registry.MustRegister(m.polls, m.pollErrors, m.ordersSeen, m.receipts, m.printDelay, m.regLatency,
		m.regErrors, m.insRequests, m.insLimited, m.insUsage, m.insUsageLimit,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// attach adds the metrics read from the daemon's state at scrape time.
func (m *Metrics) attach(d *Daemon) {
	m.Registry.MustRegister(pendingCollector{d: d,
		count: prometheus.NewDesc("chekd_pending_receipts", "Receipts waiting to be printed, per shop.", []string{"shop"}, nil),
		age: prometheus.NewDesc("chekd_oldest_pending_receipt_age_seconds",
			"Age of the oldest receipt waiting to be printed, per shop (0 when none).", []string{"shop"}, nil),
	})
}

func (m *Metrics) poll(shop string, seen int, err error) {
	m.polls.WithLabelValues(shop).Inc()
	m.ordersSeen.WithLabelValues(shop).Add(float64(seen))
	if err != nil {
		m.pollErrors.WithLabelValues(shop).Inc()
	}
}

func (m *Metrics) receipt(r store.Receipt) {
	m.receipts.WithLabelValues(r.Shop, string(r.Kind), string(r.State)).Inc()
}

func (m *Metrics) printed(r store.Receipt, delay time.Duration) {
	m.receipt(r)
	m.printDelay.WithLabelValues(r.Shop).Observe(delay.Seconds())
}

type pendingCollector struct {
	d          *Daemon
	count, age *prometheus.Desc
}

func (c pendingCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.count
	ch <- c.age
}

func (c pendingCollector) Collect(ch chan<- prometheus.Metric) {
	c.d.mu.Lock()
	runners := make([]*shopRunner, 0, len(c.d.shops))
	for _, r := range c.d.shops {
		runners = append(runners, r)
	}
	c.d.mu.Unlock()
	now := time.Now()
	for _, r := range runners {
		n, oldest := r.pendingStats()
		age := 0.0
		if n > 0 && !oldest.IsZero() {
			age = now.Sub(oldest).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(c.count, prometheus.GaugeValue, float64(n), r.cfg.Name)
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age, r.cfg.Name)
	}
}

// insalesMetrics feeds one shop's InSales client events into the metrics.
type insalesMetrics struct {
	m    *Metrics
	shop string
}

func (m *Metrics) insalesObserver(shop string) insalesMetrics { return insalesMetrics{m, shop} }

func (o insalesMetrics) OnRequest(_ string, status int, _ time.Duration) {
	o.m.insRequests.WithLabelValues(o.shop, strconv.Itoa(status)).Inc()
}

func (o insalesMetrics) OnUsage(used, limit int) {
	o.m.insUsage.WithLabelValues(o.shop).Set(float64(used))
	o.m.insUsageLimit.WithLabelValues(o.shop).Set(float64(limit))
}

func (o insalesMetrics) OnRateLimited(time.Duration) { o.m.insLimited.WithLabelValues(o.shop).Inc() }

// registerMetrics feeds one shop's register client events into the metrics.
type registerMetrics struct {
	m    *Metrics
	shop string
}

func (m *Metrics) registerObserver(shop string) registerMetrics { return registerMetrics{m, shop} }

func (o registerMetrics) OnRequest(dur time.Duration, class string) {
	o.m.regLatency.WithLabelValues(o.shop).Observe(dur.Seconds())
	if class != "" {
		o.m.regErrors.WithLabelValues(o.shop, class).Inc()
	}
}
