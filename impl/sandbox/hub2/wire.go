package hub2

import (
	"net/http"
	"time"

	api "github.com/paylinks/paylinks/gen/hub2"
	"github.com/paylinks/paylinks/impl/sandbox"
)

// timeLayout is how Hub2 writes instants: UTC with milliseconds (2024-01-15T12:00:00.000Z).
const timeLayout = "2006-01-02T15:04:05.000Z"

// msTime is an instant written in Hub2's layout. The generated types carry time.Time, which
// encoding/json writes with as many decimals as needed (none at a whole second), unlike Hub2.
type msTime time.Time

// MarshalJSON writes the instant in UTC with exactly three decimals.
func (t msTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(timeLayout) + `"`), nil
}

// The bodies below embed the generated types and shadow their time fields: encoding/json prefers
// the shallower field of a name, so every other field still comes from the generated type.

// linkBody is a PaymentLink as list, get and close write it.
type linkBody struct {
	api.PaymentLink
	CreatedAt       msTime         `json:"createdAt"`
	UpdatedAt       msTime         `json:"updatedAt"`
	ExpirationDate  msTime         `json:"expirationDate"`
	PaymentAttempts *[]attemptBody `json:"paymentAttempts,omitempty"`
}

// attemptBody is a PaymentAttempt as Hub2 writes it.
type attemptBody struct {
	api.PaymentAttempt
	CreatedAt msTime `json:"createdAt"`
	UpdatedAt msTime `json:"updatedAt"`
}

// createdBody is a CreatedPaymentLink as create writes it.
type createdBody struct {
	api.CreatedPaymentLink
	CreatedAt      msTime `json:"createdAt"`
	UpdatedAt      msTime `json:"updatedAt"`
	ExpirationDate msTime `json:"expirationDate"`
}

// webhookBody is a Webhook as create writes it.
type webhookBody struct {
	api.Webhook
	CreatedAt msTime `json:"createdAt"`
	UpdatedAt msTime `json:"updatedAt"`
}

// reply is a successful answer with a body the generated response types cannot write (they would
// lose Hub2's time layout). It implements the response interface of every operation.
type reply struct{ sandbox.Reply }

func answer(status int, body any) reply {
	return reply{sandbox.Reply{Status: status, ContentType: "application/json", Body: body}}
}

// VisitListPaymentLinksResponse writes the reply.
func (r reply) VisitListPaymentLinksResponse(w http.ResponseWriter) error { return r.Write(w) }

// VisitCreatePaymentLinkResponse writes the reply.
func (r reply) VisitCreatePaymentLinkResponse(w http.ResponseWriter) error { return r.Write(w) }

// VisitGetPaymentLinkResponse writes the reply.
func (r reply) VisitGetPaymentLinkResponse(w http.ResponseWriter) error { return r.Write(w) }

// VisitClosePaymentLinkResponse writes the reply.
func (r reply) VisitClosePaymentLinkResponse(w http.ResponseWriter) error { return r.Write(w) }

// VisitCreateWebhookResponse writes the reply.
func (r reply) VisitCreateWebhookResponse(w http.ResponseWriter) error { return r.Write(w) }
