// Package insales is the client of one InSales shop's REST API: it finds the
// orders changed since a cursor, reads the lookups a configuration needs
// (account, custom statuses, payment gateways, additional fields) and writes
// receipt information back into an order's additional field.
//
// Orders are decoded exactly: money becomes integer kopecks and quantities
// integer thousandths straight from the decimal text, and timestamps keep the
// text InSales sent so it can be sent back as a cursor. Every request passes
// a per-shop limiter that stays within InSales' 500 requests per 5 minutes and
// waits out 429 answers; GETs are retried after transport errors and 5xx.
//
// This package must never change an order's status (status-change loops have
// caused duplicate receipts elsewhere), never use float arithmetic on money,
// never page with page= (orders that change between pages are lost), and never
// put the API password or a buyer's contact into a log line or an error.
// The fake shop for tests lives in insales/insalestest.
package insales
