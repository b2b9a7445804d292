package config

// The names the config accepts for tax systems and VAT rates. The numbers
// the register wants for them belong to package fiscal/receipt, which turns
// these names (and receipts.tax_ids overrides) into TaxMode and TaxId.

func taxSystems() []string {
	return []string{"osn", "usn_income", "usn_income_expense", "envd", "esn", "patent"}
}

// vatRates lists the VAT rate names in the order of the spec's table.
func vatRates() []string {
	return []string{"vat22", "vat122", "vat20", "vat120", "vat10", "vat110",
		"vat5", "vat105", "vat7", "vat107", "vat0", "none"}
}

func knownRate(name string) bool {
	for _, r := range vatRates() {
		if r == name {
			return true
		}
	}
	return false
}

// obsoleteRate says why a rate name should no longer be used, or "".
func obsoleteRate(rate string) string {
	switch rate {
	case "vat20", "vat120":
		return "is obsolete since 2026-01-01 (the general VAT rate is 22%)"
	}
	return ""
}
