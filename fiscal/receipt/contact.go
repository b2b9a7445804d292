package receipt

import (
	"strings"

	"github.com/chekd/chekd/insales"
)

// The contact modes: where the electronic receipt goes.
const (
	ContactEmailThenPhone = "email_then_phone" // the default
	ContactPhoneThenEmail = "phone_then_email"
	ContactEmail          = "email"
	ContactPhone          = "phone"
	ContactNone           = "none"
)

// ContactModes lists the valid Settings.Contact values ("" means
// ContactEmailThenPhone).
func ContactModes() []string {
	return []string{ContactEmailThenPhone, ContactPhoneThenEmail, ContactEmail, ContactPhone, ContactNone}
}

// maxContact is the longest PhoneOrEmail value (FFD tag 1008).
const maxContact = 64

// Contact is the buyer's address for the electronic receipt (PhoneOrEmail)
// by mode: a valid e-mail, or a phone as +7XXXXXXXXXX; "" when the order
// carries nothing usable or the mode is ContactNone or unknown.
func Contact(o insales.Order, mode string) string {
	email := func() string {
		if e := strings.TrimSpace(o.Client.Email); ValidEmail(e) {
			return e
		}
		return ""
	}
	phone := func() string {
		p, _ := NormalizePhone(o.Client.Phone)
		return p
	}
	first := func(fs ...func() string) string {
		for _, f := range fs {
			if v := f(); v != "" {
				return v
			}
		}
		return ""
	}
	switch mode {
	case ContactEmailThenPhone, "":
		return first(email, phone)
	case ContactPhoneThenEmail:
		return first(phone, email)
	case ContactEmail:
		return email()
	case ContactPhone:
		return phone()
	}
	return ""
}

// ValidEmail reports whether s is an ASCII e-mail address the fiscal data
// operator can send to: local@domain.tld, at most 64 characters, no spaces,
// no display name.
func ValidEmail(s string) bool {
	if len(s) == 0 || len(s) > maxContact {
		return false
	}
	at := strings.IndexByte(s, '@')
	if at <= 0 || at != strings.LastIndexByte(s, '@') {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return false
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if !(isAlnum(c) || strings.IndexByte(".!#$%&'*+/=?^_`{|}~-", c) >= 0) {
			return false
		}
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if !isAlnum(l[i]) && l[i] != '-' {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	if len(tld) < 2 {
		return false
	}
	for i := 0; i < len(tld); i++ {
		if !isLetter(tld[i]) && !strings.HasPrefix(tld, "xn--") {
			return false
		}
	}
	return true
}

// NormalizePhone turns the usual Russian spellings of a phone number
// (8 (999) 123-45-67, +7 999 123 45 67, 79991234567, 999 123-45-67) into
// +7XXXXXXXXXX. Anything else (letters, extensions, foreign numbers, a wrong
// number of digits) gives false.
func NormalizePhone(s string) (string, bool) {
	s = strings.TrimSpace(s)
	plus := strings.HasPrefix(s, "+")
	if plus {
		s = s[1:]
	}
	digits := make([]byte, 0, 11)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if len(digits) == 11 {
				return "", false
			}
			digits = append(digits, c)
		case c == ' ' || c == '-' || c == '(' || c == ')' || c == '.':
		default:
			return "", false
		}
	}
	var national []byte
	switch {
	case len(digits) == 11 && digits[0] == '7':
		national = digits[1:]
	case len(digits) == 11 && digits[0] == '8' && !plus:
		national = digits[1:]
	case len(digits) == 10 && !plus:
		national = digits
	default:
		return "", false
	}
	// Russian numbers start with 3, 4, 8 (area codes) or 9 (mobile). Ten
	// digits starting with 8 are more likely a number with its trunk 8 and a
	// digit missing than an area code without its prefix: refused.
	switch {
	case national[0] == '3' || national[0] == '4' || national[0] == '9':
	case national[0] == '8' && len(digits) == 11:
	default:
		return "", false
	}
	return "+7" + string(national), true
}

func isAlnum(c byte) bool { return isLetter(c) || (c >= '0' && c <= '9') }

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
