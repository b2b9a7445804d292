// Package systemd holds chekd's systemd unit (chekd.service) and the tests
// that keep it honest: Type=notify with a watchdog, a dynamic user, a private
// state directory, credentials for secrets, SIGHUP reload, and hardening that
// systemd-analyze rates at most 2.0.
//
// It has no code the daemon uses and must never grow any: the unit is data.
package systemd
