// Package status serves chekd's status endpoint: a small JSON API
// (/healthz, /api/shops, /api/receipts, retry, hot backup), the Prometheus
// metrics, and a server-rendered page in Russian where the merchant sees each
// shop's state and the receipt log, filters it and retries failed receipts.
//
// Security. When a token is configured every path but /healthz needs it,
// either as "Authorization: Bearer TOKEN" (compared in constant time) or as
// the session cookie that the page's login form sets. The cookie holds an
// expiry and an HMAC of it keyed by the token and a random per-process salt,
// never the token itself, and is HttpOnly and SameSite=Strict. Every
// state-changing request (POST) additionally passes net/http's
// CrossOriginProtection, which rejects browser requests whose Sec-Fetch-Site
// or Origin header shows another origin; the page uses plain forms, so no
// CSRF token is needed. When the listen address is a loopback one, requests
// whose Host header is not localhost, 127.0.0.1 or [::1] with the listen port
// are refused, so a hostile site cannot reach the endpoint through DNS
// rebinding. Refusing a non-loopback listen without a token is the config
// check's job (package config).
//
// It must never put a secret (the token, the register's request bodies, key
// material) into an answer, a log line or an error message, never show a
// buyer's e-mail or phone unmasked, and never change a receipt except through
// the Backend's Retry. The one deliberate exception is /api/backup: it is a
// byte-for-byte copy of the database, which holds the register request bodies
// (with the register's cashier password) and buyers' contacts, so it sits
// behind the same token and Host checks as every other path and is never
// cached.
package status
