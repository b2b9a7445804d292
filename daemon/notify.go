package daemon

import (
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// notifier speaks systemd's sd_notify protocol over $NOTIFY_SOCKET. With no
// socket (not under systemd) every call is a no-op.
type notifier struct {
	addr string
}

func newNotifier() *notifier {
	return &notifier{addr: os.Getenv("NOTIFY_SOCKET")}
}

// send writes one notification; failures are ignored, as systemd itself
// would only log them.
func (n *notifier) send(state string) {
	if n == nil || n.addr == "" {
		return
	}
	addr := n.addr
	if strings.HasPrefix(addr, "@") {
		addr = "\x00" + addr[1:] // abstract socket
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return
	}
	defer conn.Close()
	_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = conn.Write([]byte(state))
}

// watchdogInterval is half of $WATCHDOG_USEC, or 0 when systemd asks for no
// watchdog (or asks another process).
func watchdogInterval() time.Duration {
	usec := os.Getenv("WATCHDOG_USEC")
	if usec == "" {
		return 0
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	n, err := strconv.ParseInt(usec, 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Microsecond / 2
}
