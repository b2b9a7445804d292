package receipt

import (
	"fmt"
	"strings"

	"github.com/chekd/chekd/insales"
)

// VAT names, as config and the TaxIDs table spell them.
const (
	VAT22   = "vat22"
	VAT122  = "vat122"
	VAT20   = "vat20"
	VAT120  = "vat120"
	VAT10   = "vat10"
	VAT110  = "vat110"
	VAT5    = "vat5"
	VAT105  = "vat105"
	VAT7    = "vat7"
	VAT107  = "vat107"
	VAT0    = "vat0"
	VATNone = "none"
)

// vatTable is the default VAT name → Chekonline TaxId table
// (../shared/spec/fiscal-rules.md). 22% and 22/122 are UNCONFIRMED for
// Chekonline, hence overridable per shop.
func vatTable() []struct {
	name string
	id   uint8
} {
	return []struct {
		name string
		id   uint8
	}{
		{VAT22, 11}, {VAT122, 12}, {VAT20, 1}, {VAT120, 5}, {VAT10, 2}, {VAT110, 6},
		{VAT5, 7}, {VAT105, 9}, {VAT7, 8}, {VAT107, 10}, {VAT0, 3}, {VATNone, 4},
	}
}

// VATNames lists every known VAT name, in the order of the spec's table.
func VATNames() []string {
	t := vatTable()
	out := make([]string, len(t))
	for i, e := range t {
		out[i] = e.name
	}
	return out
}

// DefaultTaxIDs returns a fresh copy of the default VAT name → TaxId table.
func DefaultTaxIDs() map[string]uint8 {
	t := vatTable()
	m := make(map[string]uint8, len(t))
	for _, e := range t {
		m[e.name] = e.id
	}
	return m
}

// TaxIDs is the default table with the shop's overrides applied. Overrides
// with an unknown name or a value outside 1..255 are ignored here; config
// validation reports them.
func TaxIDs(overrides map[string]int64) map[string]uint8 {
	m := DefaultTaxIDs()
	for name, id := range overrides {
		if _, known := m[name]; known && id >= 1 && id <= 255 {
			m[name] = uint8(id)
		}
	}
	return m
}

// KnownVAT reports whether name is a VAT name of the table.
func KnownVAT(name string) bool {
	_, ok := DefaultTaxIDs()[name]
	return ok
}

// vatFromPercent maps an order line's own rate to a VAT name; "" when the
// line gives no rate this program knows (NoVAT, 18, …).
func vatFromPercent(p int) string {
	switch p {
	case 22:
		return VAT22
	case 20:
		return VAT20
	case 10:
		return VAT10
	case 7:
		return VAT7
	case 5:
		return VAT5
	case 0:
		return VAT0
	}
	return ""
}

// calculatedRate is the rate a prepayment is taxed at: the law taxes an
// advance at the calculated rate (22/122, 10/110, …), not the plain one.
func calculatedRate(name string) string {
	switch name {
	case VAT22:
		return VAT122
	case VAT20:
		return VAT120
	case VAT10:
		return VAT110
	case VAT5:
		return VAT105
	case VAT7:
		return VAT107
	}
	return name
}

// lineVAT is the VAT name of an order line: its own rate when InSales gives
// one that maps to a known name, else the shop's vat_goods.
func lineVAT(l insales.OrderLine, s Settings) string {
	if l.VAT != insales.NoVAT {
		if n := vatFromPercent(l.VAT); n != "" {
			return n
		}
	}
	return s.VATGoods
}

// taxModes are the register's tax system bits by config name.
func taxModes() map[string]uint8 {
	return map[string]uint8{"osn": 1, "usn_income": 2, "usn_income_expense": 4, "envd": 8, "esn": 16, "patent": 32}
}

// TaxSystems lists the valid Settings.TaxSystem names ("" leaves the choice
// to the register, which works only when it has one system registered).
func TaxSystems() []string {
	return []string{"osn", "usn_income", "usn_income_expense", "envd", "esn", "patent"}
}

// TaxMode is the register's TaxMode bit for a tax system name; 0 for "".
func TaxMode(system string) (uint8, error) {
	if system == "" {
		return 0, nil
	}
	m, ok := taxModes()[system]
	if !ok {
		return 0, fmt.Errorf("receipt: unknown tax system %q (one of: %s)", system, strings.Join(TaxSystems(), ", "))
	}
	return m, nil
}
