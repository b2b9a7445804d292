package fiscal

import "time"

// Document types (field DocumentType).
const (
	DocSale       uint8 = 0 // приход
	DocSaleRefund uint8 = 2 // возврат прихода
)

// Payment method signs (FFD tag 1214, field PayAttribute).
const (
	PayFullPrepayment uint8 = 1 // предоплата 100%
	PayFullSettlement uint8 = 4 // полный расчёт
)

// Subjects (FFD tag 1212, field LineAttribute).
const (
	SubjectGoods   uint8 = 1
	SubjectService uint8 = 4
)

// Request is the body of one Complex call: a whole receipt. It is built once,
// marshalled once, and the exact bytes are stored and resent on every retry.
type Request struct {
	Device             string   `json:"Device,omitempty"`
	Password           uint32   `json:"Password"`
	RequestID          string   `json:"RequestId"`
	ClientID           string   `json:"ClientId,omitempty"`
	Group              string   `json:"Group,omitempty"`
	DocumentType       uint8    `json:"DocumentType"`
	Lines              []Line   `json:"Lines"`
	NonCash            []uint64 `json:"NonCash,omitempty"`
	AdvancePayment     uint64   `json:"AdvancePayment,omitempty"`
	TaxMode            uint8    `json:"TaxMode,omitempty"`
	PhoneOrEmail       string   `json:"PhoneOrEmail,omitempty"`
	Place              string   `json:"Place,omitempty"`
	MaxDocumentsInTurn uint16   `json:"MaxDocumentsInTurn"`
	FullResponse       bool     `json:"FullResponse"`
}

// Line is one receipt line. Qty is in thousandths, Price in kopecks per unit.
type Line struct {
	Qty           uint64 `json:"Qty"`
	Price         uint64 `json:"Price"`
	PayAttribute  uint8  `json:"PayAttribute"`
	TaxID         uint8  `json:"TaxId"`
	Description   string `json:"Description"`
	LineAttribute uint8  `json:"LineAttribute,omitempty"`
	MarkingCode   string `json:"MarkingCode,omitempty"`
	// MeasureUnit is the FFD 1.2 measure unit (tag 2108: 0 pieces, 11 kg, …),
	// sent only to FFD 1.2 registers; a pointer because 0 is a real value.
	// The JSON name `Unit` is the one the protocol summary gives for tag 2108;
	// its exact form is UNCONFIRMED for Chekonline (the protocol text we have
	// predates FFD 1.2), and receipts.ffd: "1.05" leaves it out.
	MeasureUnit *uint8 `json:"Unit,omitempty"`
}

// Result is what the register reports for a printed document.
type Result struct {
	FiscalDocNumber    uint64    // ФД
	FiscalSign         uint64    // ФП
	FNSerial           string    // ФН
	RegistrationNumber string    // РН ККТ
	DeviceSerial       string    // заводской номер
	DocNumber          uint64    // номер документа в смене
	Shift              uint64    // номер смены, 0 when not given
	Date               time.Time // the register's own clock, as UTC wall time (the register gives no zone)
	QR                 string
	GrandTotal         uint64 // kopecks
	FromCache          bool   // the answer came from the server's answer cache
}
