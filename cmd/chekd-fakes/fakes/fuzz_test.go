package fakes

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzControlAPI sends arbitrary bodies to every POST route: the answer is
// 200 or a 4xx with a JSON error, never a panic or a 5xx.
func FuzzControlAPI(f *testing.F) {
	seeds := []string{
		`{"orders":[{"payment":"card","email":"a@b.c","delivery":100,"lines":[{"title":"x","quantity":1000,"price":100,"vat":22}]}]}`,
		`{"orders":[{"payment":"cod","email":"","lines":[{"title":"Ваза","quantity":1,"price":1,"vat":-1}]}]}`,
		`{"changes":[{"id":100001,"status":"dispatched"}]}`,
		`{"faults":[{"kind":"429","count":3}],"ignore_from_id":true}`,
		`{"faults":[{"kind":"fce","code":18},{"kind":"delay","delay_ms":5}]}`,
		`{"orders":[{"payment":"card","lines":[{"title":"x","quantity":100000000,"price":10000000000}]}]}`,
		`{"faults":[]}`, `null`, `[]`, `{}`, `{"orders":1}`, `{"a":1}{"b":2}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	w, err := Start(Options{Dir: f.TempDir(), Shops: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(w.Close)
	h := NewHandler(w)
	routes := []string{"/shops/shop1/orders", "/shops/shop1/statuses", "/shops/shop1/faults", "/register/faults", "/shops/nope/orders"}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		path := routes[int(route)%len(routes)]
		if path == "/register/faults" && bytes.Contains(body, []byte("delay")) {
			// A queued delay would hold a later fuzz call's answer; delays
			// are parsed by parseRegisterFault, fuzzed below.
			return
		}
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && (rec.Code < 400 || rec.Code > 499) {
			t.Fatalf("%s %q: status %d: %s", path, body, rec.Code, rec.Body)
		}
		if rec.Code != http.StatusOK && !bytes.Contains(rec.Body.Bytes(), []byte(`"error":"fakes: `)) {
			t.Fatalf("%s %q: error without a message: %s", path, body, rec.Body)
		}
	})
}

// FuzzParseReady parses arbitrary ready lines and register faults.
func FuzzParseReady(f *testing.F) {
	f.Add([]byte(`{"control":"http://127.0.0.1:1","register":"https://127.0.0.1:2","shops":[{"name":"shop1","url":"http://127.0.0.1:3","api_key":"k","password_file":"/p"}]}`))
	f.Add([]byte(`{"control":"","shops":null}`))
	f.Add([]byte(`{"kind":"delay","delay_ms":-1}`))
	f.Add([]byte(`{"kind":"http_status","code":503}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		if r, err := ParseReady(line); err == nil && (r.Control == "" || len(r.Shops) == 0) {
			t.Fatalf("accepted an incomplete ready line %q", line)
		}
		var rf RegisterFault
		if decodeBody(bytes.NewReader(line), &rf) == nil {
			if ff, err := parseRegisterFault(rf); err == nil && ff.Delay > maxDelay {
				t.Fatalf("accepted a delay of %s", ff.Delay)
			}
		}
	})
}
