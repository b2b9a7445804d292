// Package daemon joins the InSales client, the receipt rules, the store and
// the register client into chekd's sync engine.
//
// For every shop a cron job polls InSales for orders changed since the
// shop's cursor, decides which receipts they need, and writes each receipt's
// intent (with the exact request body and RequestId) durably to the store
// before the register is ever called. A sender per shop then sends pending
// intents, rate-limited and retried, and records what the register answered.
// At start-up every pending intent is resent before the first poll: the
// register's answer cache, keyed by RequestId, makes a resend after a crash
// print nothing twice.
//
// It must never call the register for an intent that is not durable, never
// advance a cursor past an order whose intents are not durable, never resend
// a receipt whose outcome is ambiguous, and never change an order's status in
// InSales.
package daemon
