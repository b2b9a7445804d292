package fakes

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls a chekd-fakes control API.
type Client struct {
	base string
	http *http.Client
}

// NewClient makes a client of the control API at base (Ready.Control).
func NewClient(base string) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("fakes: control URL %q is not http://HOST:PORT", base)
	}
	return &Client{base: strings.TrimRight(base, "/"), http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// CreateOrders creates orders in a shop.
func (c *Client) CreateOrders(ctx context.Context, shop string, orders []NewOrder) ([]Created, error) {
	var out CreatedOrders
	if err := c.call(ctx, http.MethodPost, "/shops/"+url.PathEscape(shop)+"/orders", CreateOrders{Orders: orders}, &out); err != nil {
		return nil, err
	}
	if len(out.Orders) != len(orders) {
		return nil, fmt.Errorf("fakes: asked for %d orders, %d created", len(orders), len(out.Orders))
	}
	return out.Orders, nil
}

// SetStatuses moves orders of a shop to new statuses, in the order given.
func (c *Client) SetStatuses(ctx context.Context, shop string, changes []StatusChange) error {
	var out struct {
		Applied int `json:"applied"`
	}
	if err := c.call(ctx, http.MethodPost, "/shops/"+url.PathEscape(shop)+"/statuses", SetStatuses{Changes: changes}, &out); err != nil {
		return err
	}
	if out.Applied != len(changes) {
		return fmt.Errorf("fakes: %d status changes sent, %d applied", len(changes), out.Applied)
	}
	return nil
}

// ShopFaults injects faults into a shop or switches its from_id handling.
func (c *Client) ShopFaults(ctx context.Context, shop string, f ShopFaults) (ShopStats, error) {
	var out ShopStats
	err := c.call(ctx, http.MethodPost, "/shops/"+url.PathEscape(shop)+"/faults", f, &out)
	return out, err
}

// ShopStats reads a shop's counters.
func (c *Client) ShopStats(ctx context.Context, shop string) (ShopStats, error) {
	var out ShopStats
	err := c.call(ctx, http.MethodGet, "/shops/"+url.PathEscape(shop)+"/stats", nil, &out)
	return out, err
}

// RegisterFaults queues faults at the register.
func (c *Client) RegisterFaults(ctx context.Context, faults ...RegisterFault) (RegisterStats, error) {
	var out RegisterStats
	err := c.call(ctx, http.MethodPost, "/register/faults", RegisterFaults{Faults: faults}, &out)
	return out, err
}

// Ledger reads every document the register printed, oldest first.
func (c *Client) Ledger(ctx context.Context) ([]Document, error) {
	var out Ledger
	if err := c.call(ctx, http.MethodGet, "/register/ledger", nil, &out); err != nil {
		return nil, err
	}
	return out.Documents, nil
}

// RegisterStats reads the register's counters.
func (c *Client) RegisterStats(ctx context.Context) (RegisterStats, error) {
	var out RegisterStats
	err := c.call(ctx, http.MethodGet, "/register/stats", nil, &out)
	return out, err
}

func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("fakes: encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("fakes: %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("fakes: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("fakes: %s %s: read the answer: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e Error
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("fakes: %s %s: HTTP %d: %s", method, path, resp.StatusCode, e.Error)
		}
		return fmt.Errorf("fakes: %s %s: HTTP %d", method, path, resp.StatusCode)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("fakes: %s %s: bad answer: %w", method, path, err)
	}
	return nil
}

// ReadReady reads chekd-fakes' stdout up to its ready line and parses it.
// Lines before it are ignored.
func ReadReady(r io.Reader) (Ready, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		return ParseReady(line)
	}
	if err := sc.Err(); err != nil {
		return Ready{}, fmt.Errorf("fakes: read the ready line: %w", err)
	}
	return Ready{}, errors.New("fakes: the output ended before the ready line")
}

// ParseReady parses and checks a ready line.
func ParseReady(line []byte) (Ready, error) {
	var r Ready
	if err := decodeBody(bytes.NewReader(line), &r); err != nil {
		return Ready{}, err
	}
	if r.Control == "" || r.Register == "" || len(r.Shops) == 0 {
		return Ready{}, errors.New("fakes: the ready line lacks the control URL, the register URL or the shops")
	}
	for i, s := range r.Shops {
		if s.Name == "" || s.URL == "" || s.APIKey == "" || s.PasswordFile == "" {
			return Ready{}, fmt.Errorf("fakes: ready line: shops[%d] lacks its name, URL, API key or password file", i)
		}
	}
	return r, nil
}
