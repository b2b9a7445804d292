package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/chekd/chekd/daemon"
	"github.com/chekd/chekd/daemon/config"
	"github.com/chekd/chekd/daemon/status"
	"github.com/chekd/chekd/insales"
	"github.com/chekd/chekd/store"
)

// loadShop loads the config and finds one shop in it.
func (g *globals) loadShop(name string) (*config.Config, config.Shop, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, config.Shop{}, err
	}
	s, err := shopByName(cfg, name)
	return cfg, s, err
}

// shopByName finds a configured shop, or says which ones exist.
func shopByName(cfg *config.Config, name string) (config.Shop, error) {
	var names []string
	for _, s := range cfg.Shops {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return config.Shop{}, usageError{fmt.Errorf("no shop %q in the config (shops: %s)", name, strings.Join(names, ", "))}
}

func insalesClient(s config.Shop) (*insales.Client, error) {
	return insales.NewClient(daemon.InSalesConfig(s, Version))
}

func newTestConnectionCmd(g *globals) *cobra.Command {
	var shop string
	cmd := &cobra.Command{
		Use:   "test-connection",
		Short: "Check each shop's InSales credentials and register certificate; prints no receipt",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			shops := cfg.Shops
			if shop != "" {
				s, err := shopByName(cfg, shop)
				if err != nil {
					return err
				}
				shops = []config.Shop{s}
			}
			failed := 0
			for _, s := range shops {
				failed += testShop(cmd.Context(), g.stdout, s)
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d checks failed", failed, 2*len(shops))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&shop, "shop", "", "check only this shop")
	return cmd
}

// testShop checks one shop's InSales account and register; it returns the
// number of failed checks.
func testShop(ctx context.Context, w io.Writer, s config.Shop) int {
	failed := 0
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	ic, err := insalesClient(s)
	if err == nil {
		var acc insales.Account
		acc, err = ic.Account(ctx)
		if err == nil {
			fmt.Fprintf(w, "✓ %s: InSales %s: account %q (id %d)\n", s.Name, s.InSales.URL, acc.Title, acc.ID)
		}
	}
	if err != nil {
		failed++
		fmt.Fprintf(w, "✗ %s: InSales %s: %v\n", s.Name, s.InSales.URL, err)
	}
	rc, err := daemon.NewRegisterClient(s.Register, nil, nil, s.Register.TimeoutDuration, nil)
	if err == nil {
		err = rc.Check(ctx)
	}
	if err != nil {
		failed++
		fmt.Fprintf(w, "✗ %s: register %s: %v\n", s.Name, s.Register.URL, err)
	} else {
		how := "answers"
		if strings.HasPrefix(s.Register.URL, "https://") {
			how = "accepts the client certificate"
		}
		fmt.Fprintf(w, "✓ %s: register %s %s\n", s.Name, s.Register.URL, how)
	}
	return failed
}

func newDiscoverCmd(g *globals) *cobra.Command {
	var shop string
	cmd := &cobra.Command{
		Use:   "discover --shop NAME",
		Short: "List the shop's order statuses, payment methods and order fields, ready to paste into the config",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if shop == "" {
				return usageError{errors.New("discover needs --shop NAME")}
			}
			_, s, err := g.loadShop(shop)
			if err != nil {
				return err
			}
			ic, err := insalesClient(s)
			if err != nil {
				return err
			}
			return discover(cmd.Context(), g.stdout, ic)
		},
	}
	cmd.Flags().StringVar(&shop, "shop", "", "the shop to look at")
	return cmd
}

func discover(ctx context.Context, w io.Writer, ic *insales.Client) error {
	statuses, err := ic.CustomStatuses(ctx)
	if err != nil {
		return err
	}
	gateways, err := ic.PaymentGateways(ctx)
	if err != nil {
		return err
	}
	fields, err := ic.Fields(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "# Order statuses: put permalinks into receipts.sale_statuses / refund_statuses.")
	fmt.Fprintln(w, "# The built-in fulfillment statuses work too: new, accepted, approved, dispatched, delivered, declined, returned.")
	fmt.Fprintln(w, "statuses:")
	for _, st := range statuses {
		fmt.Fprintf(w, "  - %-24s # %s (system status: %s)\n", yamlString(st.Permalink), st.Title, st.SystemStatus)
	}
	fmt.Fprintln(w, "# Payment methods: put ids (or exact titles) of the cashless ones into receipts.payment_methods.")
	fmt.Fprintln(w, "payment_methods:")
	for _, pg := range gateways {
		note := pg.Type
		if strings.Contains(pg.Type, "Cod") {
			note += "; cash on delivery: the courier's register prints it, leave it out"
		}
		fmt.Fprintf(w, "  - %-12d # %s (%s)\n", pg.ID, pg.Title, note)
	}
	fmt.Fprintln(w, "# Additional order fields: insales.order_field takes an id or title, for receipt notes on the order page.")
	fmt.Fprintln(w, "order_fields:")
	for _, f := range fields {
		title := f.OfficeTitle
		if title == "" {
			title = f.Title
		}
		fmt.Fprintf(w, "  - %-12d # %s\n", f.ID, title)
	}
	return nil
}

// yamlString quotes a value when YAML would read it as something else.
func yamlString(s string) string {
	if s == "" || strings.ContainsAny(s, ":#{}[],&*!|>'\"%@` ") {
		return fmt.Sprintf("%q", s)
	}
	return s
}

func newBackupCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent copy of the database to FILE (hot: through the running daemon if there is one)",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{errors.New("backup takes exactly one argument: the file to write")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			return backup(cmd.Context(), g, cfg, args[0])
		},
	}
}

func backup(ctx context.Context, g *globals, cfg *config.Config, file string) error {
	tmp := file + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	n, via, err := writeBackup(ctx, cfg, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmp, file); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(g.stdout, "backup written to %s (%d bytes, %s)\n", file, n, via)
	return nil
}

func writeBackup(ctx context.Context, cfg *config.Config, w io.Writer) (int64, string, error) {
	api := newAPIClient(cfg)
	resp, err := api.get(ctx, "/api/backup")
	if err == nil {
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, "", apiError(resp)
		}
		n, err := io.Copy(w, resp.Body)
		return n, "from the running daemon", err
	}
	if !api.notRunning(err) {
		return 0, "", err
	}
	db, err := openStoreReadOnly(cfg)
	if err != nil {
		return 0, "", err
	}
	defer db.Close()
	n, err := db.Backup(w)
	return n, "read from " + db.Path(), err
}

func openStoreReadOnly(cfg *config.Config) (*store.DB, error) {
	return store.Open(filepath.Join(cfg.DataDir, "chekd.db"), store.Options{ReadOnly: true, Timeout: 2 * time.Second})
}

func newRetryCmd(g *globals) *cobra.Command {
	var shop, kind, order string
	cmd := &cobra.Command{
		Use:   "retry --shop NAME --order ID [--kind sale|refund]",
		Short: "Re-queue a failed receipt under a new RequestId, rebuilt from the order as it is now",
		Long: `retry re-queues a receipt that failed with a permanent register error, or that needs a
person, under the next generation and a new RequestId. Fix the cause first (the error
is on the status page). For a receipt whose outcome was ambiguous, check in the
Chekonline cabinet that no document was printed for it before you retry.
--order is the order's number (as on the status page) or its InSales id.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if shop == "" || order == "" {
				return usageError{errors.New("retry needs --shop NAME and --order NUMBER")}
			}
			cfg, s, err := g.loadShop(shop)
			if err != nil {
				return err
			}
			return retry(cmd.Context(), g, cfg, s, order, kind)
		},
	}
	cmd.Flags().StringVar(&shop, "shop", "", "the shop")
	cmd.Flags().StringVar(&order, "order", "", "the order's number or InSales id")
	cmd.Flags().StringVar(&kind, "kind", "sale", "the receipt kind: sale, refund, prepayment, settlement, prepayment_refund")
	return cmd
}

func retry(ctx context.Context, g *globals, cfg *config.Config, s config.Shop, order, kind string) error {
	q := receiptQuery{shop: s.Name, order: order, kind: kind, limit: 1000}
	api := newAPIClient(cfg)
	list, err := api.receipts(ctx, q)
	if err == nil {
		r, ok := pickReceipt(list, order, kind)
		if !ok {
			return fmt.Errorf("shop %s has no %s receipt for order %s", s.Name, kind, order)
		}
		rec, err := api.retry(ctx, r.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "receipt %d (order %s, %s) queued as %s\n", rec.ID, rec.OrderNumber, rec.Kind, rec.RequestID)
		return nil
	}
	if !api.notRunning(err) {
		return err
	}
	db, err := store.Open(filepath.Join(cfg.DataDir, "chekd.db"), store.Options{Timeout: 2 * time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	recs, err := queryStore(db, q)
	if err != nil {
		return err
	}
	list = make([]apiReceipt, 0, len(recs))
	for _, r := range recs {
		list = append(list, status.ReceiptView(r))
	}
	r, ok := pickReceipt(list, order, kind)
	if !ok {
		return fmt.Errorf("shop %s has no %s receipt for order %s", s.Name, kind, order)
	}
	ic, err := insalesClient(s)
	if err != nil {
		return err
	}
	k := store.Key{Shop: s.Name, OrderID: r.OrderID, Kind: store.Kind(kind)}
	out, err := daemon.Requeue(ctx, db, s, ic, k, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "receipt %d (order %s, %s) queued as %s; chekd sends it when it next runs\n", out.ID, out.OrderNumber, out.Kind, out.RequestID)
	return nil
}

// printTable writes rows with aligned columns.
func printTable(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}
