package fiscal_test

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chekd/chekd/fiscal"
)

const printed = `{"RequestId":"D35","ClientId":"","Path":"/fr/api/v2/Complex","Response":{"Error":0},
 "FiscalDocNumber":31,"DocNumber":5,"TurnNumber":7,
 "Date":{"Date":{"Day":15,"Month":7,"Year":17},"Time":{"Hour":14,"Minute":38,"Second":27}},
 "GrandTotal":125000,"FiscalSign":3879546968,"DocumentType":0,
 "QR":"t=20170715T1438&s=1250.00&fn=9999078900006825&i=31&fp=3879546968&n=1",
 "FNSerialNumber":"9999078900006825","DeviceSerialNumber":"00000000381001017439",
 "DeviceRegistrationNumber":"3949620073015105"}`

func TestDecodeAnswerPrinted(t *testing.T) {
	t.Parallel()
	want := fiscal.Result{
		FiscalDocNumber:    31,
		FiscalSign:         3879546968, // above 2^31: read as 64-bit
		FNSerial:           "9999078900006825",
		RegistrationNumber: "3949620073015105",
		DeviceSerial:       "00000000381001017439",
		DocNumber:          5,
		Shift:              7,
		Date:               time.Date(2017, 7, 15, 14, 38, 27, 0, time.UTC),
		QR:                 "t=20170715T1438&s=1250.00&fn=9999078900006825&i=31&fp=3879546968&n=1",
		GrandTotal:         125000,
	}
	res, err := fiscal.DecodeAnswer(200, http.Header{}, []byte(printed))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res, want) {
		t.Fatalf("got  %+v\nwant %+v", res, want)
	}

	for _, h := range []string{"X-From-Cache", "X-From-FCE-Cache"} {
		hdr := http.Header{}
		hdr.Set(h, "true")
		res, err := fiscal.DecodeAnswer(200, hdr, []byte(printed))
		if err != nil || !res.FromCache {
			t.Fatalf("%s: FromCache=%v err=%v", h, res.FromCache, err)
		}
	}

	// The 2017 document's spelling, and a short answer with no fiscal data.
	res, err = fiscal.DecodeAnswer(200, nil, []byte(`{"Path":"/fr/api/v2/Complex","RequestId":"31","Reponse":{"Error":0}}`))
	if err != nil || res.FiscalDocNumber != 0 || !res.Date.IsZero() {
		t.Fatalf("Reponse spelling: %+v, %v", res, err)
	}

	// Numbers as strings, an impossible date.
	res, err = fiscal.DecodeAnswer(200, nil, []byte(`{"Response":{"Error":0},"FiscalDocNumber":"42","FiscalSign":"4294967295",
		"Date":{"Date":{"Day":31,"Month":2,"Year":26},"Time":{"Hour":1,"Minute":2,"Second":3}}}`))
	if err != nil || res.FiscalDocNumber != 42 || res.FiscalSign != 4294967295 || !res.Date.IsZero() {
		t.Fatalf("lenient numbers: %+v, %v", res, err)
	}
}

func TestDecodeAnswerClasses(t *testing.T) {
	t.Parallel()
	regErr := func(code string) string {
		return `{"RequestId":"1","Response":{"Error":` + code + `,"ErrorMessages":["MSGCODE: 48, Неправильный параметр","второе"]}}`
	}
	fce := func(code string, fatal bool) string {
		f := "false"
		if fatal {
			f = "true"
		}
		return `{"FCEError":` + code + `,"ErrorDescription":"описание","Fatal":` + f + `}`
	}
	cases := []struct {
		name   string
		status int
		body   string
		class  fiscal.Class
		code   int
		fce    int
		msgs   int
	}{
		{"register 51", 200, regErr("51"), fiscal.ClassPermanent, 51, 0, 2},
		{"register 52", 200, regErr("52"), fiscal.ClassPermanent, 52, 0, 2},
		{"register 69", 200, regErr("69"), fiscal.ClassPermanent, 69, 0, 2},
		{"register 77", 200, regErr("77"), fiscal.ClassPermanent, 77, 0, 2},
		{"register 208", 200, regErr("208"), fiscal.ClassPermanent, 208, 0, 2},
		{"register 241", 200, regErr("241"), fiscal.ClassPermanent, 241, 0, 2},
		{"register 246", 200, regErr("246"), fiscal.ClassPermanent, 246, 0, 2},
		{"register 247", 200, regErr("247"), fiscal.ClassTransient, 247, 0, 2},
		{"register 17 no OFD link", 200, regErr("17"), fiscal.ClassTransient, 17, 0, 2},
		{"register 22 shift over 24h", 200, regErr("22"), fiscal.ClassTransient, 22, 0, 2},
		{"register 255", 200, regErr("255"), fiscal.ClassTransient, 255, 0, 2},
		{"register 79 cashier password", 200, regErr("79"), fiscal.ClassConfig, 79, 0, 2},
		{"Reponse spelling", 200, `{"Reponse":{"Error":51,"ErrorMessages":["x"]}}`, fiscal.ClassPermanent, 51, 0, 1},
		{"register error with 500", 500, regErr("51"), fiscal.ClassPermanent, 51, 0, 2},
		{"FCE 5", 500, fce("5", false), fiscal.ClassTransient, 0, 5, 1},
		{"FCE 18", 500, fce("18", false), fiscal.ClassTransient, 0, 18, 1},
		{"FCE 24", 500, fce("24", false), fiscal.ClassInProgress, 0, 24, 1},
		{"FCE 6", 500, fce("6", false), fiscal.ClassAmbiguous, 0, 6, 1},
		{"FCE 6 fatal", 500, fce("6", true), fiscal.ClassAmbiguous, 0, 6, 1},
		{"FCE 19", 500, fce("19", true), fiscal.ClassHalt, 0, 19, 1},
		{"FCE 20", 500, fce("20", false), fiscal.ClassHalt, 0, 20, 1},
		{"FCE 5 fatal stays transient", 500, fce("5", true), fiscal.ClassTransient, 0, 5, 1},
		{"FCE other fatal", 500, fce("99", true), fiscal.ClassHalt, 0, 99, 1},
		{"FCE other", 500, fce("99", false), fiscal.ClassTransient, 0, 99, 1},
		{"401", 401, "Unauthorized", fiscal.ClassConfig, 0, 0, 1},
		{"403", 403, "", fiscal.ClassConfig, 0, 0, 0},
		{"404", 404, "not found", fiscal.ClassConfig, 0, 0, 1},
		{"plain http to TLS port", 400, "Client sent an HTTP request to an HTTPS server.", fiscal.ClassConfig, 0, 0, 1},
		{"429", 429, "", fiscal.ClassTransient, 0, 0, 0},
		{"400", 400, "bad json", fiscal.ClassPermanent, 0, 0, 1},
		{"502 empty", 502, "", fiscal.ClassUnknown, 0, 0, 0},
		{"500 html", 500, "<html>oops</html>", fiscal.ClassUnknown, 0, 0, 1},
		{"504 json without FCE", 504, `{"message":"timeout"}`, fiscal.ClassUnknown, 0, 0, 1},
		{"200 truncated", 200, printed[:len(printed)/2], fiscal.ClassUnknown, 0, 0, 0},
		{"200 empty", 200, "", fiscal.ClassUnknown, 0, 0, 0},
		{"200 without Response", 200, `{"RequestId":"1"}`, fiscal.ClassUnknown, 0, 0, 0},
		{"200 Response without Error", 200, `{"Response":{}}`, fiscal.ClassUnknown, 0, 0, 0},
		{"200 Error as string", 200, `{"Response":{"Error":"0"}}`, fiscal.ClassUnknown, 0, 0, 0},
		{"302", 302, "", fiscal.ClassConfig, 0, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := fiscal.DecodeAnswer(tc.status, http.Header{}, []byte(tc.body))
			var e *fiscal.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not *fiscal.Error", err, err)
			}
			if e.Class != tc.class || e.Code != tc.code || e.FCE != tc.fce {
				t.Fatalf("class %v code %d fce %d, want %v %d %d (%v)", e.Class, e.Code, e.FCE, tc.class, tc.code, tc.fce, err)
			}
			if len(e.Messages) != tc.msgs {
				t.Fatalf("messages %q, want %d of them", e.Messages, tc.msgs)
			}
			if !strings.HasPrefix(err.Error(), "fiscal: "+tc.class.String()) {
				t.Fatalf("error text %q", err)
			}
		})
	}
}

func TestDecodeAnswerKeepsMessagesBounded(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("я", 2000)
	body := `{"Response":{"Error":51,"ErrorMessages":["` + long + `"` + strings.Repeat(`,"m"`, 100) + `]}}`
	_, err := fiscal.DecodeAnswer(200, nil, []byte(body))
	var e *fiscal.Error
	if !errors.As(err, &e) {
		t.Fatal(err)
	}
	if len(e.Messages) != 16 || len(e.Messages[0]) > 1100 || !strings.HasSuffix(e.Messages[0], "я…") {
		t.Fatalf("messages not bounded: %d, first %d bytes", len(e.Messages), len(e.Messages[0]))
	}
}

// FuzzDecodeAnswer: any answer gives a Result or an *Error with a known
// class, never a panic; a Result only for 2xx.
func FuzzDecodeAnswer(f *testing.F) {
	f.Add(200, []byte(printed), "")
	f.Add(200, []byte(`{"Reponse":{"Error":0}}`), "X-From-Cache")
	f.Add(200, []byte(`{"Response":{"Error":51,"ErrorMessages":["MSGCODE: 48"]}}`), "")
	f.Add(500, []byte(`{"FCEError":24,"ErrorDescription":"busy","Fatal":false}`), "")
	f.Add(500, []byte(`{"FCEError":-1,"ErrorDescription":[1,2],"Fatal":true}`), "")
	f.Add(200, []byte(`{"Response":{"Error":99999999999999},"Date":{"Date":{"Day":"x"}}}`), "")
	f.Add(502, []byte{}, "")
	f.Add(200, []byte(printed[:40]), "")
	f.Fuzz(func(t *testing.T, status int, body []byte, header string) {
		h := http.Header{}
		if header != "" {
			h.Set("X-From-Cache", header)
		}
		res, err := fiscal.DecodeAnswer(status, h, body)
		if err == nil {
			if status < 200 || status > 299 {
				t.Fatalf("status %d decoded as printed: %+v", status, res)
			}
			return
		}
		var e *fiscal.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %T is not *fiscal.Error", err)
		}
		if _, ok := fiscal.ParseClass(e.Class.String()); !ok {
			t.Fatalf("unknown class %v", e.Class)
		}
		if len(e.Messages) > 16 {
			t.Fatalf("%d messages kept", len(e.Messages))
		}
		_ = e.Error()
	})
}
