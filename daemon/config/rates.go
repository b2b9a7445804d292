package config

// The names the config uses for tax systems and VAT rates, and the numbers
// the register wants for them. See shared/spec: Chekonline's TaxId numbering
// differs from FFD tag 1199 for codes 1–6, and the codes for 22% and 22/122
// are unconfirmed for Chekonline, which is why a shop may override them with
// receipts.tax_ids.

type named struct {
	name string
	code uint8
}

func taxSystems() []named {
	return []named{
		{"osn", 1}, {"usn_income", 2}, {"usn_income_expense", 4},
		{"envd", 8}, {"esn", 16}, {"patent", 32},
	}
}

func vatRates() []named {
	return []named{
		{"vat22", 11}, {"vat122", 12}, {"vat20", 1}, {"vat120", 5},
		{"vat10", 2}, {"vat110", 6}, {"vat5", 7}, {"vat105", 9},
		{"vat7", 8}, {"vat107", 10}, {"vat0", 3}, {"none", 4},
	}
}

func names(list []named) []string {
	out := make([]string, len(list))
	for i, n := range list {
		out[i] = n.name
	}
	return out
}

func lookup(list []named, name string) (uint8, bool) {
	for _, n := range list {
		if n.name == name {
			return n.code, true
		}
	}
	return 0, false
}

// TaxMode returns the register's TaxMode bit for a receipts.tax_system name
// (osn → 1, usn_income → 2, …).
func TaxMode(system string) (uint8, bool) { return lookup(taxSystems(), system) }

// DefaultTaxID returns Chekonline's TaxId for a VAT rate name (vat22 → 11,
// vat0 → 3, none → 4, …) before any receipts.tax_ids override.
func DefaultTaxID(rate string) (uint8, bool) { return lookup(vatRates(), rate) }

// VATRates lists the VAT rate names the config accepts.
func VATRates() []string { return names(vatRates()) }

// TaxID returns the register's TaxId for a VAT rate name, honouring the
// shop's receipts.tax_ids overrides.
func (r Receipts) TaxID(rate string) (uint8, bool) {
	if id, ok := r.TaxIDs[rate]; ok && id >= 1 && id <= 255 {
		return uint8(id), true
	}
	return DefaultTaxID(rate)
}

// obsoleteRate says why a rate name should no longer be used, or "".
func obsoleteRate(rate string) string {
	switch rate {
	case "vat20", "vat120":
		return "is obsolete since 2026-01-01 (the general VAT rate is 22%)"
	}
	return ""
}
