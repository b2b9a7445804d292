package status

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/chekd/chekd/daemon"
	"github.com/chekd/chekd/store"
)

//go:embed templates/*.html
var templateFS embed.FS

func parseTemplates() *template.Template {
	return template.Must(template.New("").ParseFS(templateFS, "templates/*.html"))
}

// checkBaseURL is where a receipt's QR text is checked. UNCONFIRMED: the
// exact address of the ФНС receipt check that takes the QR text as its
// query has not been verified; the page therefore also shows the QR text
// itself, to be pasted into the ФНС «Проверка чеков» app or site.
const checkBaseURL = "https://proverkacheka.nalog.ru/?"

// checkURL links a receipt's QR text (t=…&s=…&fn=…&i=…&fp=…&n=1) to the
// check service. QR text comes from the register: only the characters such
// text consists of are let into a link; anything else gets no link.
func checkURL(qr string) string {
	if qr == "" || len(qr) > 512 {
		return ""
	}
	for i := 0; i < len(qr); i++ {
		c := qr[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case strings.IndexByte("=&.,:_-", c) >= 0:
		default:
			return ""
		}
	}
	return checkBaseURL + qr
}

// The words the merchant sees, as in the hosted app's «Кассы / Чеки».
var (
	stateWords = map[store.State]string{
		store.StatePrinted:     "Напечатан",
		store.StatePending:     "Ожидает",
		store.StateFailed:      "Ошибка",
		store.StateSkipped:     "Пропущен",
		store.StateDryRun:      "Пробный",
		store.StateNeedsPerson: "Требует внимания",
	}
	kindWords = map[store.Kind]string{
		"sale":              "Продажа",
		"refund":            "Возврат",
		"prepayment":        "Предоплата",
		"settlement":        "Полный расчёт",
		"prepayment_refund": "Возврат предоплаты",
	}
	registerWords = map[string]string{
		daemon.RegisterOK:            "работает",
		daemon.RegisterHalted:        "остановлена",
		daemon.RegisterMisconfigured: "ошибка настройки",
	}
)

func stateWord(s store.State) string {
	if w, ok := stateWords[s]; ok {
		return w
	}
	return string(s)
}

// KindWord is a receipt kind as the merchant reads it: «Продажа», «Возврат»…
func KindWord(k store.Kind) string {
	if w, ok := kindWords[k]; ok {
		return w
	}
	return string(k)
}

// nbsp keeps an amount on one line.
const nbsp = "\u00a0"

// FormatRubles writes kopecks the Russian way: «1 234,56 ₽».
func FormatRubles(kopecks int64) string {
	u := uint64(kopecks)
	sign := ""
	if kopecks < 0 {
		u, sign = -u, "-"
	}
	digits := strconv.FormatUint(u/100, 10)
	var b strings.Builder
	b.WriteString(sign)
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteString(nbsp)
		}
		b.WriteRune(c)
	}
	kop := u % 100
	b.WriteByte(',')
	b.WriteByte(byte('0' + kop/10))
	b.WriteByte(byte('0' + kop%10))
	b.WriteString(nbsp + "₽")
	return b.String()
}

// pageTime is the page's time format, in the page's zone.
func (s *server) pageTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(s.loc).Format("02.01.2006 15:04")
}

type option struct {
	Value, Label string
	Selected     bool
}

type shopPanel struct {
	Name          string
	DryRun        bool
	LastPoll      string
	PollError     string
	RegisterState string // ok, halted, misconfigured
	RegisterWord  string
	RegisterWhy   string
	RegisterSince string
	Counts        []countView
	OldestPending string
}

// panelStates is the order of a shop panel's counts: the usual ones first.
var panelStates = []store.State{store.StatePrinted, store.StatePending, store.StateFailed,
	store.StateNeedsPerson, store.StateSkipped, store.StateDryRun}

type countView struct {
	State store.State
	Word  string
	N     int
}

type rowView struct {
	ID          uint64
	Shop        string
	Created     string
	OrderNumber string
	OrderID     int64
	Contact     string
	Kind        string
	State       store.State
	StateWord   string
	Total       string
	FD, FP      string
	Printed     string
	QR          string
	CheckURL    string
	Problem     string // the last error or the reason, for a person to read
	CanRetry    bool
}

type pageData struct {
	Auth       bool // a token is configured: show the logout button
	Shops      []shopPanel
	ManyShops  bool
	ShopOpts   []option
	StateOpts  []option
	Order      string
	Rows       []rowView
	Filtered   bool
	NextURL    string
	Back       string // the filter and page, to come back to after a retry
	Notice     string
	Error      string
	ShopsError string
}

func (s *server) shopPanels() ([]shopPanel, error) {
	infos, err := s.shops()
	if err != nil {
		return nil, err
	}
	out := make([]shopPanel, 0, len(infos))
	for _, in := range infos {
		p := shopPanel{
			Name: in.Name, DryRun: in.DryRun,
			LastPoll: s.pageTime(in.State.LastPollAt), PollError: in.State.LastPollError,
			RegisterState: in.RegisterState, RegisterWord: registerWords[in.RegisterState],
			RegisterWhy: in.RegisterReason, RegisterSince: s.pageTime(in.RegisterSince),
		}
		if p.RegisterWord == "" {
			p.RegisterWord = in.RegisterState
		}
		for _, st := range panelStates {
			if n := in.Counts[st]; n > 0 || st == store.StatePrinted || st == store.StatePending || st == store.StateFailed {
				p.Counts = append(p.Counts, countView{State: st, Word: stateWord(st), N: n})
			}
		}
		if in.Pending > 0 {
			p.OldestPending = s.pageTime(in.OldestPending)
		}
		out = append(out, p)
	}
	return out, nil
}

func (s *server) row(r store.Receipt) rowView {
	v := rowView{
		ID: r.ID, Shop: r.Shop, Created: s.pageTime(r.CreatedAt),
		OrderNumber: r.OrderNumber, OrderID: r.OrderID,
		Contact: daemon.MaskContact(r.Contact), Kind: KindWord(r.Kind),
		State: r.State, StateWord: stateWord(r.State), Total: FormatRubles(r.Total),
		Printed:  s.pageTime(r.PrintedAt),
		CanRetry: r.State == store.StateFailed || r.State == store.StateNeedsPerson,
	}
	switch r.State {
	case store.StateSkipped, store.StateNeedsPerson:
		v.Problem = r.Reason
		if v.Problem == "" {
			v.Problem = r.LastError
		}
	case store.StatePrinted:
	default:
		v.Problem = r.LastError
	}
	if f := r.Fiscal; f != nil {
		v.FD = strconv.FormatUint(f.FiscalDocNumber, 10)
		v.FP = strconv.FormatUint(f.FiscalSign, 10)
		v.QR = f.QR
		v.CheckURL = checkURL(f.QR)
	}
	return v
}

// page is GET /: the shops and the receipt log.
func (s *server) page(w http.ResponseWriter, r *http.Request) {
	data := pageData{Auth: s.token != ""}
	code := http.StatusOK
	q, err := parseQuery(r.URL.Query())
	if err != nil {
		code, data.Error = http.StatusBadRequest, "Неверный фильтр: "+err.Error()
	}
	if id, err := strconv.ParseUint(r.URL.Query().Get("retried"), 10, 64); err == nil && id > 0 {
		data.Notice = "Чек " + strconv.FormatUint(id, 10) + " поставлен в очередь на повторную печать."
	}
	s.fill(&data, q, code == http.StatusOK)
	if data.Error != "" && code == http.StatusOK {
		code = http.StatusInternalServerError
	}
	s.render(w, code, "page", data)
}

// fill reads the shops and, if listing, the receipts q selects into data.
func (s *server) fill(data *pageData, q query, listing bool) {
	panels, err := s.shopPanels()
	if err != nil {
		s.log.Error("read shops for the page", "err", err)
		data.ShopsError = "Не удалось прочитать состояние магазинов: " + err.Error()
	}
	data.Shops = panels
	data.ManyShops = len(panels) > 1
	data.ShopOpts = []option{{Value: "", Label: "Все магазины", Selected: q.Shop == ""}}
	for _, p := range panels {
		data.ShopOpts = append(data.ShopOpts, option{Value: p.Name, Label: p.Name, Selected: q.Shop == p.Name})
	}
	data.StateOpts = []option{{Value: "", Label: "Все статусы", Selected: q.State == ""}}
	for _, st := range store.States {
		data.StateOpts = append(data.StateOpts, option{Value: string(st), Label: stateWord(st), Selected: q.State == st})
	}
	data.Order = q.Order
	data.Filtered = q.Shop != "" || q.Order != "" || q.State != "" || q.Kind != ""
	data.Back = q.values().Encode() // after a retry, back to this very page
	if !listing {
		return
	}
	recs, next, err := list(s.b.Store(), q)
	if err != nil {
		s.log.Error("list receipts for the page", "err", err)
		data.Error = "Не удалось прочитать чеки: " + err.Error()
		return
	}
	for _, rec := range recs {
		data.Rows = append(data.Rows, s.row(rec))
	}
	if next != 0 {
		nq := q
		nq.Before = next
		data.NextURL = "/?" + nq.values().Encode()
	}
}

// pageRetry is the retry button: on success back to the page (the same
// filter), on failure the page with the reason.
func (s *server) pageRetry(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	_ = r.ParseForm() // a bad form only loses the filter to come back to
	back, _ := url.ParseQuery(r.PostForm.Get("back"))
	q, err := parseQuery(back)
	if err != nil {
		q = query{Limit: defaultLimit}
	}
	id, err := pathID(r)
	if err == nil {
		_, err = s.retry(r.Context(), id)
	}
	if err != nil {
		data := pageData{Auth: s.token != "", Error: "Повторить не удалось: " + err.Error()}
		s.fill(&data, q, true)
		s.render(w, storeCode(err), "page", data)
		return
	}
	v := q.values()
	v.Set("retried", strconv.FormatUint(id, 10))
	http.Redirect(w, r, "/?"+v.Encode(), http.StatusSeeOther)
}

type loginData struct {
	Error string
}

func (s *server) renderLogin(w http.ResponseWriter, code int, msg string) {
	s.render(w, code, "login", loginData{Error: msg})
}

// contentPolicy allows the page nothing but its own inline style and forms.
const contentPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func (s *server) render(w http.ResponseWriter, code int, name string, data any) {
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("render page", "template", name, "err", err)
		http.Error(w, "status: internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", contentPolicy)
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}
