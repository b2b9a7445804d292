package insalestest

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chekd/chekd/insales"
)

// Shop is a fake shop served by an httptest server for one test.
type Shop struct {
	*Handler
	Server *httptest.Server
}

// New starts a fake shop for t. When the test ends the server is closed and
// every recorded violation fails the test.
func New(t testing.TB, opts Options) *Shop {
	t.Helper()
	h := NewHandler(opts)
	srv := httptest.NewServer(h)
	s := &Shop{Handler: h, Server: srv}
	t.Cleanup(func() {
		srv.Close()
		if v := h.Violations(); len(v) > 0 {
			t.Errorf("insalestest: the client broke the InSales protocol:\n  %s", strings.Join(v, "\n  "))
		}
	})
	return s
}

// URL is the shop's base URL.
func (s *Shop) URL() string { return s.Server.URL }

// Config is a client configuration that reaches this shop with the right
// credentials. The caller may change anything before calling NewClient. When
// the fake's Clock is an *insalestest.Clock, the client shares it.
func (s *Shop) Config(shop string) insales.Config {
	cfg := insales.Config{
		Shop:       shop,
		BaseURL:    s.Server.URL,
		APIKey:     s.opts.APIKey,
		Password:   s.opts.Password,
		UserAgent:  "chekd/test",
		HTTPClient: s.Server.Client(),
	}
	if c, ok := s.opts.Clock.(*Clock); ok {
		cfg.Clock = c
	}
	return cfg
}
