package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/chekd/chekd/daemon/config"
	"github.com/chekd/chekd/daemon/status"
	"github.com/chekd/chekd/store"
)

// apiClient talks to a running chekd's status API on http.listen.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

func newAPIClient(cfg *config.Config) *apiClient {
	host := cfg.HTTP.Listen
	if h, p, err := net.SplitHostPort(host); err == nil && (h == "" || h == "0.0.0.0" || h == "::") {
		host = net.JoinHostPort("127.0.0.1", p)
	}
	return &apiClient{base: "http://" + host, token: cfg.HTTP.Token, http: &http.Client{Timeout: 5 * time.Minute}}
}

// notRunning reports whether err means no daemon listens.
func (c *apiClient) notRunning(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}

func (c *apiClient) do(ctx context.Context, method, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return c.http.Do(req)
}

func (c *apiClient) get(ctx context.Context, path string) (*http.Response, error) {
	return c.do(ctx, http.MethodGet, path)
}

func apiError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return fmt.Errorf("chekd API: %s: %s", resp.Status, e.Error)
	}
	return fmt.Errorf("chekd API: %s: %s", resp.Status, strings.TrimSpace(string(body)))
}

// apiReceipt is a receipt as /api/receipts shows it.
type apiReceipt = status.ReceiptJSON

type receiptQuery struct {
	shop, order, state, kind string
	limit                    int
}

func (c *apiClient) receipts(ctx context.Context, q receiptQuery) ([]apiReceipt, error) {
	v := url.Values{}
	for k, val := range map[string]string{"shop": q.shop, "order": q.order, "state": q.state, "kind": q.kind} {
		if val != "" {
			v.Set(k, val)
		}
	}
	v.Set("limit", strconv.Itoa(q.limit))
	resp, err := c.get(ctx, "/api/receipts?"+v.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, apiError(resp)
	}
	var out struct {
		Receipts []apiReceipt `json:"receipts"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("chekd API: bad answer from /api/receipts: %w", err)
	}
	return out.Receipts, nil
}

// retry retries one receipt through the API.
func (c *apiClient) retry(ctx context.Context, id uint64) (apiReceipt, error) {
	resp, err := c.do(ctx, http.MethodPost, "/api/receipts/"+strconv.FormatUint(id, 10)+"/retry")
	if err != nil {
		return apiReceipt{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return apiReceipt{}, apiError(resp)
	}
	var out apiReceipt
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return apiReceipt{}, fmt.Errorf("chekd API: bad answer to retry: %w", err)
	}
	return out, nil
}

func newReceiptsCmd(g *globals) *cobra.Command {
	var q receiptQuery
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "receipts",
		Short: "List receipts, newest first (from the running daemon, else from the database file)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			list, err := listReceipts(cmd.Context(), cfg, q)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			rows := make([][]string, 0, len(list))
			for _, r := range list {
				fd, fp := "", ""
				if r.Fiscal != nil {
					fd, fp = strconv.FormatUint(r.Fiscal.FiscalDocNumber, 10), strconv.FormatUint(r.Fiscal.FiscalSign, 10)
				}
				why := r.Error
				if why == "" {
					why = r.Reason
				}
				rows = append(rows, []string{strconv.FormatUint(r.ID, 10), r.CreatedAt, r.Shop, r.OrderNumber, r.Kind,
					r.State, rubles(r.Total), fd, fp, r.Contact, why})
			}
			printTable(g.stdout, []string{"ID", "CREATED", "SHOP", "ORDER", "KIND", "STATE", "TOTAL", "FD", "FP", "CONTACT", "ERROR"}, rows)
			return nil
		},
	}
	cmd.Flags().StringVar(&q.shop, "shop", "", "only this shop")
	cmd.Flags().StringVar(&q.order, "order", "", "only this order (number or id)")
	cmd.Flags().StringVar(&q.state, "state", "", "only this state: pending, printed, failed, skipped, dry_run, needs_person")
	cmd.Flags().StringVar(&q.kind, "kind", "", "only this kind: sale, refund, …")
	cmd.Flags().IntVar(&q.limit, "limit", 100, "at most this many (1..1000)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON as the API gives it")
	return cmd
}

func listReceipts(ctx context.Context, cfg *config.Config, q receiptQuery) ([]apiReceipt, error) {
	if q.limit <= 0 || q.limit > 1000 {
		return nil, usageError{fmt.Errorf("--limit must be 1..1000, got %d", q.limit)}
	}
	api := newAPIClient(cfg)
	list, err := api.receipts(ctx, q)
	if err == nil || !api.notRunning(err) {
		return list, err
	}
	db, err := openStoreReadOnly(cfg)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	recs, err := queryStore(db, q)
	if err != nil {
		return nil, err
	}
	out := make([]apiReceipt, 0, len(recs))
	for _, r := range recs {
		out = append(out, status.ReceiptView(r))
	}
	return out, nil
}

// queryStore lists receipts as the API does: --order matches the order
// number or the order id.
func queryStore(db *store.DB, q receiptQuery) ([]store.Receipt, error) {
	f := store.Filter{Shop: q.shop, State: store.State(q.state), Kind: store.Kind(q.kind), Limit: q.limit}
	if q.order == "" {
		recs, _, err := db.List(f)
		return recs, err
	}
	byNumber := f
	byNumber.OrderNumber = q.order
	recs, _, err := db.List(byNumber)
	if err != nil {
		return nil, err
	}
	if id, perr := strconv.ParseInt(q.order, 10, 64); perr == nil && id > 0 {
		byID := f
		byID.OrderID = id
		more, _, err := db.List(byID)
		if err != nil {
			return nil, err
		}
		seen := make(map[uint64]bool, len(recs))
		for _, r := range recs {
			seen[r.ID] = true
		}
		for _, r := range more {
			if !seen[r.ID] {
				recs = append(recs, r)
			}
		}
		slices.SortFunc(recs, func(a, b store.Receipt) int { return cmp.Compare(b.ID, a.ID) })
		recs = recs[:min(len(recs), q.limit)]
	}
	return recs, nil
}

// pickReceipt finds the one receipt of an order (given by id or number) and
// kind in a listing; an id match wins over a number match.
func pickReceipt(list []apiReceipt, order, kind string) (apiReceipt, bool) {
	var byNumber *apiReceipt
	for i, r := range list {
		if r.Kind != kind {
			continue
		}
		if strconv.FormatInt(r.OrderID, 10) == order {
			return r, true
		}
		if r.OrderNumber == order && byNumber == nil {
			byNumber = &list[i]
		}
	}
	if byNumber != nil {
		return *byNumber, true
	}
	return apiReceipt{}, false
}

// rubles formats kopecks as roubles with two decimals.
func rubles(k int64) string {
	sign := ""
	if k < 0 {
		sign, k = "-", -k
	}
	return fmt.Sprintf("%s%d.%02d", sign, k/100, k%100)
}
