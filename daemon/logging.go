package daemon

import (
	"io"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/chekd/chekd/daemon/config"
)

// NewLogger makes the logger that the config asks for.
func NewLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	switch c.Level {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// MaskContact hides most of a buyer's e-mail or phone, keeping enough for a
// merchant to recognise it: «iv***@example.com», «+7999***67».
func MaskContact(s string) string {
	if s == "" {
		return ""
	}
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		local, domain := s[:at], s[at+1:]
		keep := min(2, utf8.RuneCountInString(local)/2)
		return firstRunes(local, keep) + "***@" + domain
	}
	r := []rune(s)
	if len(r) <= 6 {
		return "***"
	}
	return string(r[:5]) + "***" + string(r[len(r)-2:])
}

func firstRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
