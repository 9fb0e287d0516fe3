package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/paylinks/paylinks/impl/events/store"
)

// ProviderWebhook is a subscription paylinks registered at a provider, with its secrets in clear:
// the Service seals them at rest (PAYLINKS_SECRETS_KEY) like endpoint secrets. Never log it.
type ProviderWebhook struct {
	Provider string
	// Name identifies the subscription within the provider (a MijnKlantportaal event type).
	Name     string
	RemoteID string
	URL      string
	Events   []string
	Secret   string
	// PreviousSecret is still accepted until PreviousSecretUntil (a rotation).
	PreviousSecret      string
	PreviousSecretUntil time.Time
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// sealContext binds a sealed secret to its subscription, so it cannot be moved to another.
func sealContext(provider, name string) string { return "provider-webhook/" + provider + "/" + name }

// SaveProviderWebhook stores the subscription (replacing one of the same provider and name) with
// its secrets sealed. A secret that changes keeps the one it replaces as the previous secret for
// previousFor (0: not kept).
func (s *Service) SaveProviderWebhook(ctx context.Context, w ProviderWebhook, previousFor time.Duration) error {
	if w.Provider == "" || w.Name == "" || w.Secret == "" {
		return errors.New("events: provider webhook without provider, name or secret")
	}
	now := s.now().UTC()
	if w.CreatedAt.IsZero() {
		w.CreatedAt = now
	}
	w.UpdatedAt = now
	ctxt := sealContext(w.Provider, w.Name)
	if previousFor > 0 && w.PreviousSecret == "" {
		old, err := s.ProviderWebhooks(ctx, w.Provider)
		if err != nil {
			return err
		}
		for _, o := range old {
			if o.Name == w.Name && o.Secret != w.Secret {
				w.PreviousSecret, w.PreviousSecretUntil = o.Secret, now.Add(previousFor)
			}
		}
	}
	rec := store.ProviderWebhook{Provider: w.Provider, Name: w.Name, RemoteID: w.RemoteID, URL: w.URL, Events: w.Events,
		PreviousSecretUntil: w.PreviousSecretUntil, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
	var err error
	if rec.Secret, err = s.box.Seal(w.Secret, ctxt); err != nil {
		return err
	}
	if w.PreviousSecret != "" {
		if rec.PreviousSecret, err = s.box.Seal(w.PreviousSecret, ctxt+"/previous"); err != nil {
			return err
		}
	}
	return s.st.PutProviderWebhook(ctx, rec)
}

// ProviderWebhooks returns the subscriptions registered at the provider ("" = every provider),
// secrets opened. A previous secret past its time is left out.
func (s *Service) ProviderWebhooks(ctx context.Context, provider string) ([]ProviderWebhook, error) {
	recs, err := s.st.ProviderWebhooks(ctx, provider)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]ProviderWebhook, 0, len(recs))
	for _, r := range recs {
		w := ProviderWebhook{Provider: r.Provider, Name: r.Name, RemoteID: r.RemoteID, URL: r.URL, Events: r.Events, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
		ctxt := sealContext(r.Provider, r.Name)
		if w.Secret, err = s.box.Open(r.Secret, ctxt); err != nil {
			return nil, fmt.Errorf("provider webhook %s/%s: %w", r.Provider, r.Name, err)
		}
		if r.PreviousSecret != "" && r.PreviousSecretUntil.After(now) {
			if w.PreviousSecret, err = s.box.Open(r.PreviousSecret, ctxt+"/previous"); err != nil {
				return nil, fmt.Errorf("provider webhook %s/%s: %w", r.Provider, r.Name, err)
			}
			w.PreviousSecretUntil = r.PreviousSecretUntil
		}
		out = append(out, w)
	}
	return out, nil
}
