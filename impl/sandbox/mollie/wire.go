package mollie

import (
	"net/http"
	"time"

	api "github.com/paylinks/paylinks/gen/mollie"
	"github.com/paylinks/paylinks/impl/sandbox"
)

// timeLayout is how Mollie writes instants: whole seconds with a numeric offset
// (2021-03-20T09:29:56+00:00), where encoding/json would write 2021-03-20T09:29:56Z.
const timeLayout = "2006-01-02T15:04:05-07:00"

// stamp is an instant written in Mollie's layout, in UTC.
type stamp time.Time

// MarshalJSON writes the instant in Mollie's layout.
func (t stamp) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(timeLayout) + `"`), nil
}

// stampOf is the nullable form: nil stays null.
func stampOf(t *time.Time) *stamp {
	if t == nil {
		return nil
	}
	s := stamp(*t)
	return &s
}

// The bodies below embed the generated types and shadow their time fields: encoding/json takes the
// shallower field of a name, so every other field still comes from the generated type.

// linkBody is a PaymentLink as Mollie writes it.
type linkBody struct {
	api.PaymentLink
	CreatedAt stamp  `json:"createdAt"`
	UpdatedAt *stamp `json:"updatedAt"`
	PaidAt    *stamp `json:"paidAt"`
	ExpiresAt *stamp `json:"expiresAt"`
}

// linkListBody is a page of links.
type linkListBody struct {
	Count    int      `json:"count"`
	Embedded struct { // the generated type's items would lose the time layout
		PaymentLinks []linkBody `json:"payment_links"`
	} `json:"_embedded"`
	Links api.ListLinks `json:"_links"`
}

// paymentBody is a Payment as Mollie writes it.
type paymentBody struct {
	api.Payment
	CreatedAt stamp  `json:"createdAt"`
	PaidAt    *stamp `json:"paidAt,omitempty"`
	FailedAt  *stamp `json:"failedAt,omitempty"`
	ExpiresAt *stamp `json:"expiresAt,omitempty"`
}

// paymentListBody is a page of a link's payments.
type paymentListBody struct {
	Count    int `json:"count"`
	Embedded struct {
		Payments []paymentBody `json:"payments"`
	} `json:"_embedded"`
	Links api.ListLinks `json:"_links"`
}

// reply is an answer written as HAL JSON: every success, whose times the generated response types
// would write in another layout, and every error. It implements the response interface of every
// operation.
type reply struct{ sandbox.Reply }

func hal(status int, body any) reply {
	return reply{sandbox.Reply{Status: status, ContentType: "application/hal+json", Body: body}}
}

// VisitCreatePaymentLinkResponse writes the reply.
func (r reply) VisitCreatePaymentLinkResponse(w http.ResponseWriter) error { return r.Write(w) }

// VisitListPaymentLinksResponse writes the reply.
func (r reply) VisitListPaymentLinksResponse(w http.ResponseWriter) error { return r.Write(w) }

// VisitGetPaymentLinkResponse writes the reply.
func (r reply) VisitGetPaymentLinkResponse(w http.ResponseWriter) error { return r.Write(w) }

// VisitUpdatePaymentLinkResponse writes the reply.
func (r reply) VisitUpdatePaymentLinkResponse(w http.ResponseWriter) error { return r.Write(w) }

// VisitDeletePaymentLinkResponse writes the reply.
func (r reply) VisitDeletePaymentLinkResponse(w http.ResponseWriter) error { return r.Write(w) }

// VisitListPaymentLinkPaymentsResponse writes the reply.
func (r reply) VisitListPaymentLinkPaymentsResponse(w http.ResponseWriter) error { return r.Write(w) }

// Documentation pages the _links.documentation of answers point to.
const (
	docsErrors   = "https://docs.mollie.com/overview/handling-errors"
	docsAuth     = "https://docs.mollie.com/overview/authentication"
	docsLink     = "https://docs.mollie.com/reference/get-payment-link"
	docsLinks    = "https://docs.mollie.com/reference/list-payment-links"
	docsPayments = "https://docs.mollie.com/reference/get-payment-link-payments"
)

// problem is Mollie's error answer; field names the request field at fault, "" for none.
func problem(status int, detail, field string) reply {
	e := api.Error{
		Status:          status,
		Title:           http.StatusText(status),
		Detail:          detail,
		UnderscoreLinks: &api.ErrorLinks{Documentation: api.Url{Href: docsErrors, Type: "text/html"}},
	}
	if status == http.StatusUnauthorized {
		e.Title = "Unauthorized Request" // as Mollie's own 401
		e.UnderscoreLinks.Documentation.Href = docsAuth
	}
	e.Field = field
	return hal(status, e)
}
