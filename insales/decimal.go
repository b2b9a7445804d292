package insales

import (
	"errors"
	"fmt"
)

// errDecimal is wrapped by every decimal parse failure.
var errDecimal = errors.New("not a decimal number")

// maxDecimalDigits is how many significant digits a parsed value may have:
// 18 decimal digits always fit an int64.
const maxDecimalDigits = 18

// parseDecimal converts decimal text ("60.59", "-1", "12474.0", "1.5e2") to an
// integer count of 10^-scale units without any floating point: scale 2 gives
// kopecks, scale 3 thousandths. Digits beyond scale are rounded half away from
// zero ("half-up") and rounded reports that a non-zero digit was dropped.
// maxExponent bounds the exponent of decimal text.
const maxExponent = 100000

func parseDecimal(s string, scale int) (v int64, rounded bool, err error) {
	orig := s
	if s == "" {
		return 0, false, fmt.Errorf("%w: empty", errDecimal)
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	// Mantissa digits without the point, and how many of them are fractional.
	var digits [64]byte
	nd := 0    // significant digits kept in digits
	frac := 0  // digits after the point (counted even when leading zeros are dropped)
	extra := 0 // integer digits beyond capacity (only when they make the value too large)
	seen := false
	point := false
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			seen = true
			if point {
				frac++
			}
			if nd == 0 && c == '0' {
				continue // leading zero
			}
			if nd < len(digits) {
				digits[nd] = c
				nd++
			} else if point {
				// Far beyond any scale: only whether it is non-zero matters.
				frac--
				if c != '0' {
					rounded = true
				}
			} else {
				extra++
			}
		case c == '.' && !point:
			point = true
		default:
			goto exponent
		}
	}
exponent:
	if !seen {
		return 0, false, fmt.Errorf("%w: %q", errDecimal, clip(orig))
	}
	exp := 0
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return 0, false, fmt.Errorf("%w: %q", errDecimal, clip(orig))
		}
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		if i == len(s) {
			return 0, false, fmt.Errorf("%w: %q", errDecimal, clip(orig))
		}
		for ; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false, fmt.Errorf("%w: %q", errDecimal, clip(orig))
			}
			if exp = exp*10 + int(c-'0'); exp > maxExponent {
				// No money or quantity is written so; refused whatever the
				// mantissa, zero included.
				return 0, false, fmt.Errorf("%w: %q has an exponent out of range", errDecimal, clip(orig))
			}
		}
		if eneg {
			exp = -exp
		}
	}
	if nd == 0 {
		return 0, rounded, nil
	}
	// value = digits × 10^shift units.
	shift := scale - frac + exp + extra
	if shift >= 0 {
		if nd+shift > maxDecimalDigits {
			return 0, false, fmt.Errorf("%w: %q is out of range", errDecimal, clip(orig))
		}
		for k := 0; k < nd; k++ {
			v = v*10 + int64(digits[k]-'0')
		}
		for k := 0; k < shift; k++ {
			v *= 10
		}
	} else {
		keep := nd + shift // digits that stay
		if keep > maxDecimalDigits {
			return 0, false, fmt.Errorf("%w: %q is out of range", errDecimal, clip(orig))
		}
		for k := 0; k < keep; k++ {
			v = v*10 + int64(digits[k]-'0')
		}
		if keep >= 0 {
			for k := keep; k < nd; k++ {
				if digits[k] != '0' {
					rounded = true
				}
			}
			if digits[keep] >= '5' {
				v++
			}
		} else {
			rounded = true // every significant digit is below one unit
		}
	}
	if neg {
		v = -v
	}
	return v, rounded, nil
}

// clip shortens outside text quoted in an error message.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
