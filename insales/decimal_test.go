package insales

import (
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestParseDecimal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		scale   int
		want    int64
		rounded bool
	}{
		{"60.59", 2, 6059, false},
		{"12474.0", 2, 1247400, false},
		{"12474", 2, 1247400, false},
		{"0", 2, 0, false},
		{"-0", 2, 0, false},
		{"0.1", 2, 10, false},
		{".5", 2, 50, false},
		{"5.", 2, 500, false},
		{"+1.25", 2, 125, false},
		{"-1.25", 2, -125, false},
		{"0.005", 2, 1, true},
		{"0.0049", 2, 0, true},
		{"0.125", 2, 13, true},
		{"0.1249", 2, 12, true},
		{"-0.125", 2, -13, true},
		{"1.999", 2, 200, true},
		{"1.990", 2, 199, false},
		{"1e2", 2, 10000, false},
		{"1.5E-1", 2, 15, false},
		{"6059e-2", 2, 6059, false},
		{"1e-400", 2, 0, true},
		{"0.347", 3, 347, false},
		{"2.5", 3, 2500, false},
		{"1", 3, 1000, false},
		{"0.0005", 3, 1, true},
		{"00012.50", 2, 1250, false},
		{"92233720368547758.07", 2, 0, false}, // out of range, checked below
	}
	for _, tt := range tests {
		got, rounded, err := parseDecimal(tt.in, tt.scale)
		if tt.in == "92233720368547758.07" {
			if err == nil {
				t.Errorf("parseDecimal(%q) = %d, want an out-of-range error", tt.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseDecimal(%q, %d): %v", tt.in, tt.scale, err)
			continue
		}
		if got != tt.want || rounded != tt.rounded {
			t.Errorf("parseDecimal(%q, %d) = %d, rounded %v; want %d, %v", tt.in, tt.scale, got, rounded, tt.want, tt.rounded)
		}
	}
}

func TestParseDecimalRejects(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "-", "+", ".", "1.2.3", "1,5", "abc", "1e", "1e+", "e5", " 1", "1 ", "0x10", "NaN", "Infinity", "1e999999", "--1", "1_000"} {
		if v, _, err := parseDecimal(in, 2); err == nil {
			t.Errorf("parseDecimal(%q) = %d, want an error", in, v)
		}
	}
}

// decimalSyntax is the grammar parseDecimal accepts.
var decimalSyntax = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// FuzzParseDecimal checks parseDecimal against exact rational arithmetic.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"60.59", "12474.0", "0.347", "-1.005", "1e3", "9.999e-1", "0.5", "123456789012345.675", "1e-30", ".", "1e99999"} {
		f.Add(s, uint8(2))
	}
	f.Fuzz(func(t *testing.T, s string, sc uint8) {
		scale := int(sc % 4)
		got, rounded, err := parseDecimal(s, scale)
		if !decimalSyntax.MatchString(s) {
			if err == nil {
				t.Fatalf("parseDecimal(%q) accepted invalid text: %d", s, got)
			}
			return
		}
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			if err == nil {
				t.Fatalf("parseDecimal(%q) = %d but big.Rat rejects it", s, got)
			}
			return
		}
		// Exact: |r| × 10^scale, rounded half away from zero.
		r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
		neg := r.Sign() < 0
		abs := new(big.Rat).Abs(r)
		q, m := new(big.Int).QuoRem(abs.Num(), abs.Denom(), new(big.Int))
		wantRounded := m.Sign() != 0
		if new(big.Int).Mul(m, big.NewInt(2)).Cmp(abs.Denom()) >= 0 {
			q.Add(q, big.NewInt(1))
		}
		if neg {
			q.Neg(q)
		}
		if err != nil && exponentOutOfRange(s) {
			return // refused whatever the mantissa, zero included
		}
		if err != nil {
			// Only values too large for 18 significant digits may fail.
			if q.CmpAbs(big.NewInt(999_999_999_999_999_999)) <= 0 && len(s) < 60 {
				t.Fatalf("parseDecimal(%q, %d): %v; want %s", s, scale, err, q)
			}
			return
		}
		if !q.IsInt64() || q.Int64() != got || rounded != wantRounded {
			t.Fatalf("parseDecimal(%q, %d) = %d, rounded %v; want %s, %v", s, scale, got, rounded, q, wantRounded)
		}
	})
}

// exponentOutOfRange reports whether decimal text has an exponent beyond
// maxExponent in magnitude.
func exponentOutOfRange(s string) bool {
	i := strings.IndexAny(s, "eE")
	if i < 0 {
		return false
	}
	e := strings.TrimLeft(strings.TrimLeft(s[i+1:], "+-"), "0")
	if len(e) > 7 {
		return true
	}
	n, err := strconv.Atoi(e)
	return err == nil && n > maxExponent
}
