package status

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/chekd/chekd/store"
)

// stepTimeout only protects against a hung browser; no step is timed.
const stepTimeout = 60 * time.Second

// findChromium looks for a Chromium-based browser on PATH.
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestBrowser drives the page in a real headless Chromium: log in, see the
// receipts of a run, filter them, retry a failed one. With
// CHEKD_UPDATE_SCREENSHOT=1 it also writes docs/screenshot-receipts.png and
// docs/screenshot-mobile.png.
func TestBrowser(t *testing.T) {
	path := findChromium()
	if path == "" {
		fmt.Fprintln(os.Stderr, "BROWSER TEST SKIPPED: chromium not installed")
		t.Skip("BROWSER TEST SKIPPED: chromium not installed (apt-get install chromium): the status page was NOT checked in a browser")
	}
	b := newBackend(t)
	s := startServer(t, b, testToken)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "ru-RU"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	// The whole test is bounded too, browser start included.
	bounded, cancelBound := context.WithTimeout(context.Background(), 4*stepTimeout)
	t.Cleanup(cancelBound)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(bounded, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no step timeout
		t.Fatalf("browser: start %s: %v", path, err)
	}

	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		value(t, ctx, what, chromedp.Steps(steps...))
	}
	rows := func() []string {
		t.Helper()
		return value(t, ctx, "read the rows", chromedp.Evaluate[[]string](
			`Array.from(document.querySelectorAll("table.receipts tbody tr[id]")).map(r => r.id)`))
	}
	text := func(sel string) string {
		t.Helper()
		return strings.TrimSpace(value(t, ctx, "read "+sel, chromedp.Text(chromedp.CSS(sel))))
	}
	title := func() string {
		t.Helper()
		return value(t, ctx, "read the title", chromedp.Title())
	}

	// Not logged in: the login form.
	run("open the page", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#token")))
	if got := title(); got != "Вход — chekd" {
		t.Fatalf("title %q, want the login page", got)
	}
	// A wrong token keeps the form and says so.
	run("log in wrongly",
		chromedp.SendKeys(chromedp.CSS("#token"), "not-the-token-0000"),
		chromedp.Click(chromedp.CSS("form.login button")),
		chromedp.WaitVisible(chromedp.CSS("form.login p.error")))
	if got := text("form.login p.error"); got != "Неверный токен." {
		t.Fatalf("wrong-token message %q", got)
	}
	run("log in",
		chromedp.SendKeys(chromedp.CSS("#token"), testToken),
		chromedp.Click(chromedp.CSS("form.login button")),
		chromedp.WaitVisible(chromedp.CSS("table.receipts")))
	if got := title(); got != "Кассы / Чеки — chekd" {
		t.Fatalf("title %q after login", got)
	}
	if got, want := rows(), []string{"r-9", "r-8", "r-7", "r-6", "r-5", "r-4", "r-3", "r-2", "r-1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
	for sel, want := range map[string]string{
		`#r-1 td[data-label="Статус"]`:        "Напечатан",
		`#r-1 td[data-label="Сумма"]`:         "1\u00a0234,56\u00a0₽",
		`#r-1 td[data-label="ФД"]`:            "101",
		`#r-1 td[data-label="ФП"]`:            "3826380101",
		`#r-4 td[data-label="Тип"]`:           "Возврат",
		`#r-1 td[data-label="Контакт"]`:       "iv***@example.com",
		`#r-5 td[data-label="Статус"] .state`: "Пропущен",
		`#r-3 td[data-label="Статус"] .state`: "Ошибка",
		`#r-3 button`: "Повторить",
		`article[data-shop="beta"] dd.reg-halted`: "остановлена: смена превысила 24 часа (с 15.01.2024 12:30)",
	} {
		if got := text(sel); got != want {
			t.Errorf("%s: %q, want %q", sel, got, want)
		}
	}
	href := value(t, ctx, "read the check link", chromedp.AttributeValue(chromedp.CSS(`#r-1 td[data-label="Проверка"] a`), "href"))
	if href.Value != checkBaseURL+qrOf(1) {
		t.Errorf("check link %q", href.Value)
	}
	if os.Getenv("CHEKD_UPDATE_SCREENSHOT") == "1" {
		screenshot(t, ctx, "screenshot-receipts.png", 1280, 900)
		screenshot(t, ctx, "screenshot-mobile.png", 390, 844)
		run("back to the desktop size", chromedp.EmulateViewport(1280, 900))
	}

	// The filter: by status, then by order number (which also matches ids).
	run("filter failed",
		chromedp.SetValue(chromedp.CSS(`select[name="state"]`), "failed"),
		chromedp.Click(chromedp.CSS("form.filter button")),
		chromedp.WaitReady(chromedp.CSS(`select[name="state"] option[value="failed"][selected]`)))
	if got := rows(); !reflect.DeepEqual(got, []string{"r-3"}) {
		t.Fatalf("rows with state=failed: %v", got)
	}

	// Retry the failed receipt: back on the same filtered page with a notice.
	run("retry", chromedp.Click(chromedp.CSS("#r-3 button")), chromedp.WaitVisible(chromedp.CSS("p.notice")))
	if got := text("p.notice"); got != "Чек 3 поставлен в очередь на повторную печать." {
		t.Errorf("notice %q", got)
	}
	if got := rows(); len(got) != 0 {
		t.Errorf("rows with state=failed after the retry: %v", got)
	}
	if got := b.retries(); !reflect.DeepEqual(got, []uint64{3}) {
		t.Fatalf("backend retries %v, want [3]", got)
	}
	if rec, err := b.db.GetByID(3); err != nil || rec.State != store.StatePending || rec.Generation != 2 {
		t.Fatalf("receipt 3 after the retry: %+v %v", rec, err)
	}

	run("filter by order",
		chromedp.SetValue(chromedp.CSS(`select[name="state"]`), ""),
		chromedp.SendKeys(chromedp.CSS(`input[name="order"]`), "2005"),
		chromedp.Click(chromedp.CSS("form.filter button")),
		chromedp.WaitVisible(chromedp.CSS(`input[name="order"][value="2005"]`)))
	if got := rows(); !reflect.DeepEqual(got, []string{"r-9", "r-8"}) {
		t.Fatalf("rows with order=2005: %v", got)
	}
	run("clear the filter", chromedp.Click(chromedp.CSS(`a[href="/"]`)), chromedp.WaitVisible(chromedp.CSS("#r-1")))
	if got := text(`#r-3 td[data-label="Статус"] .state`); got != "Ожидает" {
		t.Errorf("receipt 3 shows %q after the retry", got)
	}
}

// value runs one browser step, bounded against a hung browser.
func value[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	stepCtx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(stepCtx, a)
	if err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// screenshot saves the whole page at a window size into docs/.
func screenshot(t *testing.T, ctx context.Context, name string, w, h int64) {
	t.Helper()
	value(t, ctx, "resize for "+name, chromedp.EmulateViewport(w, h))
	png := value(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	dir := filepath.Join("..", "..", "docs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", filepath.Join(dir, name), len(png))
}
