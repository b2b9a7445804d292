// Package receipt decides which fiscal receipt an InSales order needs
// (Decide) and builds it for the Chekonline register exact to the kopeck
// (Build, BuildRefund).
//
// It is pure: plain values in, plain values out. It must never talk to the
// network, read a clock, touch a database or log; and it must never produce
// a receipt whose lines do not add up exactly to what the buyer paid.
//
// # When a receipt is printed (Decide)
//
// An order is "in a status" when its custom_status.permalink or its
// fulfillment_status is in that list. Refund statuses are looked at first,
// then sale statuses, then (prepayment scheme) the paid trigger.
//
// Full payment scheme (receipts.scheme: full_payment, the default):
//
//   - Sale: the order is in a sale status and its payment_gateway_id, or its
//     exact payment_title, is one of payment_methods. At most one sale per
//     order, whatever the status does afterwards.
//   - A sale status with a payment method not configured, a currency other
//     than roubles (RUR, RUB) or a zero total is skipped, with the reason.
//     A skip does not block: when the order later qualifies, the sale is
//     printed.
//   - Refund: the order is in a refund status and its sale was printed. At
//     most one refund. It waits while the sale is still pending. A refund
//     status without a printed sale is skipped with the reason.
//   - After a refund, an order that comes back to a sale status gets no new
//     sale automatically: it is reported as needing a person.
//
// Prepayment scheme (receipts.scheme: prepayment):
//
//   - Prepayment (PayAttribute 1, paid by NonCash): the order becomes paid
//     (financial_status paid, or a status in prepayment_statuses) with a
//     configured payment method, in roubles, for more than zero.
//   - Settlement (PayAttribute 4, paid by AdvancePayment = the prepaid sum):
//     the prepaid order enters a sale status. It waits while the prepayment
//     is pending. If the order's goods (names, quantities, amounts, VAT)
//     changed since the prepayment receipt, or the prepayment failed, it is
//     not printed and the order needs a person; the reason lists the
//     difference.
//   - An order that reaches a sale status with no prepayment recorded
//     (payment and hand-over between two polls, or a shop that switched
//     schemes) gets one full sale receipt, as in the full payment scheme.
//   - Refund: reverses what was printed: the settlement (or sale) if there
//     is one, else the prepayment alone (kind prepayment_refund). A refund
//     status after a settlement that failed needs a person.
//
// Recorded states: printed and dry_run count as printed; pending is in
// flight (nothing new of that kind, refunds wait for it); failed blocks its
// kind until a person retries it (with a new RequestId generation);
// needs_person blocks its kind until a person decides; skipped blocks
// nothing. The daemon must run Decide again for an order whenever one of
// its receipts changes state (a refund that waited for its sale is due only
// then), and must never let a skip or needs-person report replace a
// record of the same kind in any other state (it may only log it). Reasons
// are Russian, for the merchant.
//
// # What is printed (Build)
//
// One position per order line from full_total_price (discounts and the
// payment method's margin included), quantity in thousandths, subject from
// the line's fiscal_product_type (goods when not given); delivery as its own
// service line when full_delivery_price > 0, with vat_delivery. The lines
// always add up to total_price exactly; see Build for how amounts that do not
// divide are split and how rounding gaps of at most MaxSpread are spread.
//
// VAT per line: the line's own rate when InSales gives one of 22, 20, 10, 7,
// 5 or 0 percent, else vat_goods; names map to TaxId through DefaultTaxIDs
// with the shop's tax_ids overrides. A prepayment is taxed at the
// calculated rate (22/122, 10/110, …). TaxMode comes from tax_system.
//
// Descriptions are made CP866-safe by CleanText and cut to 128 characters;
// the contact is a valid e-mail or a +7XXXXXXXXXX phone per the contact mode
// (Contact); RequestId is derived by RequestID. With ffd "1.2" lines also
// carry the measure unit (tag 2108) and marking codes (one line per marked
// unit; a product that requires marking without a code for every unit is
// not printed), and the request carries Place.
//
// A refund (BuildRefund) repeats the recorded receipt it reverses, line for
// line, with DocumentType 2 and its own RequestId.
package receipt
