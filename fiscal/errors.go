package fiscal

import (
	"fmt"
	"strings"
)

// Class says what to do after a failed Complex call.
type Class int

// The classes of failure. See ../shared/spec/chekonline.md, «Errors and what to do».
const (
	ClassUnknown    Class = iota // outcome unknown (timeout, reset, 5xx without FCE body): resend the same RequestId
	ClassTransient               // retry later with the same RequestId
	ClassInProgress              // FCE 24: the same RequestId is still being processed: wait, resend the same
	ClassPermanent               // cached by the server: a fix needs a new RequestId
	ClassAmbiguous               // FCE 6: stop; a person must reconcile
	ClassHalt                    // FCE 19/20: stop all work on this register
	ClassConfig                  // TLS failure, wrong cashier password, 401/403: the register is misconfigured
)

var classNames = [...]string{"unknown", "transient", "in_progress", "permanent", "ambiguous", "halt", "config"}

func (c Class) String() string {
	if c < 0 || int(c) >= len(classNames) {
		return fmt.Sprintf("class(%d)", int(c))
	}
	return classNames[c]
}

// ParseClass is the inverse of Class.String.
func ParseClass(s string) (Class, bool) {
	for i, n := range classNames {
		if n == s {
			return Class(i), true
		}
	}
	return 0, false
}

// Retryable reports whether the same request may be sent again automatically.
func (c Class) Retryable() bool {
	return c == ClassUnknown || c == ClassTransient || c == ClassInProgress
}

// Error is a failed Complex call.
type Error struct {
	Class      Class
	Code       int      // register error (Response.Error), 0 when none
	FCE        int      // balancer error (FCEError), 0 when none
	HTTPStatus int      // 0 when no answer came
	Messages   []string // the register's own words, kept for the merchant
	Err        error    // the underlying cause, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("fiscal: ")
	b.WriteString(e.Class.String())
	switch {
	case e.FCE != 0:
		fmt.Fprintf(&b, ": FCE error %d", e.FCE)
	case e.Code != 0:
		fmt.Fprintf(&b, ": register error %d", e.Code)
	case e.HTTPStatus != 0:
		fmt.Fprintf(&b, ": HTTP %d", e.HTTPStatus)
	}
	if len(e.Messages) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(e.Messages, "; "))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }
