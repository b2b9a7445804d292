package receipt

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

// MaxDescription is the longest line description (FFD tag 1030), in characters.
const MaxDescription = 128

// Encodable reports whether s can be sent to the register: valid UTF-8 whose
// every character exists in CP866 and is not a control character.
func Encodable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
		if _, ok := charmap.CodePage866.EncodeRune(r); !ok {
			return false
		}
	}
	return true
}

// replacement is a readable stand-in for a character outside CP866.
// Characters without one that do not decompose to CP866 letters are dropped.
func replacement(r rune) (string, bool) {
	switch r {
	case '«', '»', '“', '”', '„', '‟', '″':
		return `"`, true
	case '‘', '’', '‚', '‛', '′':
		return "'", true
	case '‐', '‑', '‒', '–', '—', '―', '−':
		return "-", true
	case '…':
		return "...", true
	case '⁄':
		return "/", true
	case '±':
		return "+/-", true
	case '×':
		return "x", true
	case '•':
		return "·", true
	case '©':
		return "(c)", true
	case '®':
		return "(R)", true
	case '™':
		return "TM", true
	case '€':
		return "EUR", true
	case '₽':
		return "руб.", true
	case 'І':
		return "I", true
	case 'і':
		return "i", true
	case 'Ґ':
		return "Г", true
	case 'ґ':
		return "г", true
	}
	return "", false
}

// CleanText makes outside text safe for the register: characters outside
// CP866 are replaced (typographic quotes and dashes by ASCII, accented Latin
// letters by their base letter) or dropped (emoji and the like), whitespace
// and control characters become single spaces, and the result is cut to at
// most max characters on a character boundary. It may return "".
func CleanText(s string, max int) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false // a space is owed before the next visible character
	n := 0
	put := func(r rune) bool {
		if n >= max {
			return false
		}
		if r == ' ' {
			space = n > 0
			return true
		}
		if space {
			if n+1 >= max {
				return false
			}
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
		return true
	}
	for _, r := range strings.ToValidUTF8(s, "") {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			put(' ')
			continue
		}
		if _, ok := charmap.CodePage866.EncodeRune(r); ok {
			if !put(r) {
				break
			}
			continue
		}
		rep, ok := replacement(r)
		if !ok {
			// é → e + ◌́, ² → 2, ﬁ → fi: keep what exists in CP866, drop marks.
			var kept []rune
			for _, rr := range norm.NFKD.String(string(r)) {
				if unicode.Is(unicode.Mn, rr) || unicode.IsControl(rr) || unicode.IsSpace(rr) {
					continue
				}
				if rs, ok := replacement(rr); ok {
					kept = append(kept, []rune(rs)...)
				} else if _, ok := charmap.CodePage866.EncodeRune(rr); ok {
					kept = append(kept, rr)
				}
			}
			rep = string(kept)
		}
		if rep == "" {
			continue
		}
		// A stand-in that does not fit whole ends the text: half of "..." is
		// worse than none.
		need := utf8.RuneCountInString(rep)
		if space {
			need++
		}
		if n+need > max {
			break
		}
		for _, rr := range rep {
			put(rr)
		}
	}
	return b.String()
}

// Description is CleanText for a line description, never empty: fallback
// (itself cleaned) is used when nothing printable is left, and "Товар" when
// that is empty too.
func Description(s, fallback string) string {
	if d := CleanText(s, MaxDescription); d != "" {
		return d
	}
	if d := CleanText(fallback, MaxDescription); d != "" {
		return d
	}
	return "Товар"
}
