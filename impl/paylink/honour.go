package paylink

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// A provider's success answer is not always what was asked for. These check it, in one place for
// every provider: the Client verifies each close, and adapters verify the request fields that
// their provider does not document and echoes in its answer.

// confirmClosed checks that a successful close did close the link. The answer may be a stale
// view of a close that did happen, so a link returned open is read again before the close is
// called failed; a status code alone never makes a close.
func confirmClosed(ctx context.Context, p Provider, linkID string, l Link) (Link, error) {
	if l.Status == StatusClosed {
		return l, nil
	}
	msg := fmt.Sprintf("did not close the payment link: it answered the close with the link in status %q", l.ProviderStatus)
	if p.Capabilities().Supports(OpGet) {
		again, err := p.Get(ctx, linkID)
		switch {
		case err == nil && again.Status == StatusClosed:
			return again, nil
		case err == nil:
			msg += fmt.Sprintf(" and reads it back in status %q", again.ProviderStatus)
		case errors.Is(err, context.Canceled):
			return Link{}, err
		default:
			msg += "; reading it again failed: " + err.Error()
		}
	}
	return Link{}, &ProviderError{Provider: p.Name(), Kind: ErrNotHonoured, Message: msg}
}

// undoTimeout bounds the close of a link created against what was asked.
const undoTimeout = 30 * time.Second

// NotHonoured handles a create the provider answered with a link that lacks what was asked for:
// status is the create's HTTP status, linkID the provider's id of the link it made, and each of
// what names a unified field and what the link shows instead. It closes the link, even if the
// caller has gone away meanwhile, so that it can never be paid on terms nobody asked for, and
// returns the error to give the caller (matching ErrNotHonoured). Should the close fail, the
// error says the link may still be payable and which one to close.
func NotHonoured(ctx context.Context, p Provider, status int, linkID string, what []string) *ProviderError {
	msg := fmt.Sprintf("created payment link %s without what was asked: %s; ", NewID(p.Name(), linkID), strings.Join(what, "; "))
	if err := undo(ctx, p, linkID); err != nil {
		msg += "closing it failed, so it may still be payable: close it yourself (" + err.Error() + ")"
	} else {
		msg += "it was closed at once, so it cannot be paid"
	}
	return &ProviderError{Provider: p.Name(), Kind: ErrNotHonoured, Status: status, Message: msg}
}

// undo closes a link just created and checks that it is closed.
func undo(ctx context.Context, p Provider, linkID string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	l, err := p.Close(ctx, linkID, CloseInput{})
	if errors.Is(err, ErrAlreadyClosed) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = confirmClosed(ctx, p, linkID, l)
	return err
}

// explainRefusal says why the provider refused to close a link as not closable (ErrNotClosable),
// by reading it: closed gives ErrAlreadyClosed, paid or expired stays ErrNotClosable, and still
// open gives ErrProvider, since the provider then knows a reason paylinks does not. Providers
// answer all three alike (MijnKlantportaal 422, Hub2 409, Telness 409), so this is done here,
// once. The provider's status, code and message are kept; if the link cannot be read, the refusal
// stands, saying so.
func explainRefusal(ctx context.Context, p Provider, linkID string, err error) error {
	if !errors.Is(err, ErrNotClosable) || errors.Is(err, ErrAlreadyClosed) || !p.Capabilities().Supports(OpGet) {
		return err
	}
	pe := ProviderError{Provider: p.Name(), Message: err.Error()}
	if x := (*ProviderError)(nil); errors.As(err, &x) {
		pe = *x
	}
	l, gerr := p.Get(ctx, linkID)
	switch {
	case errors.Is(gerr, context.Canceled):
		return gerr
	case gerr != nil:
		pe.Kind = ErrNotClosable
		pe.Message = strings.TrimPrefix(pe.Message+"; reading its status failed: "+gerr.Error(), "; ")
	case l.Status == StatusClosed:
		pe.Kind = ErrAlreadyClosed
	case l.Status == StatusActive:
		pe.Kind = ErrProvider
	default:
		pe.Kind = ErrNotClosable
	}
	return &pe
}
