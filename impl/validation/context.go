package validation

import "context"

// OperationFrom returns the operation WithOperation put in ctx, or nil.
func OperationFrom(ctx context.Context) *Operation {
	op, _ := ctx.Value(operationKey{}).(*Operation)
	return op
}

// Path returns the operation's path template as the spec writes it, e.g. /payment-links/{id}.
func (o *Operation) Path() string { return o.route.Path }
