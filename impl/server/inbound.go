package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	api "github.com/paylinks/paylinks/gen/paylinks"
	"github.com/paylinks/paylinks/impl/inbound"
)

// InboundConfig configures the providers' webhooks in (see the README, "Provider webhooks").
type InboundConfig struct {
	// Secrets are PAYLINKS_<PROVIDER>_WEBHOOK_SECRETS, by provider: secrets for deployments that
	// register by hand.
	Secrets map[string]string
	// Events are PAYLINKS_<PROVIDER>_WEBHOOK_EVENTS, by provider: the event names to subscribe to,
	// where the provider lets paylinks choose (Hub2).
	Events map[string][]string
	// Register (PAYLINKS_PROVIDER_WEBHOOKS=register) registers paylinks at the providers when the
	// server starts.
	Register bool
}

// inboundFromEnv reads the inbound settings of the providers named.
func inboundFromEnv(getenv func(string) string, providers []string) (InboundConfig, error) {
	cfg := InboundConfig{Secrets: map[string]string{}, Events: map[string][]string{}}
	switch v := strings.TrimSpace(getenv("PAYLINKS_PROVIDER_WEBHOOKS")); v {
	case "":
	case "register":
		cfg.Register = true
	default:
		return cfg, fmt.Errorf("PAYLINKS_PROVIDER_WEBHOOKS=%q: give register, or leave it unset", v)
	}
	for _, name := range providers {
		prefix := "PAYLINKS_" + strings.ToUpper(name) + "_WEBHOOK_"
		if v := getenv(prefix + "SECRETS"); strings.TrimSpace(v) != "" {
			cfg.Secrets[name] = v
		}
		var evs []string
		for _, e := range strings.Split(getenv(prefix+"EVENTS"), ",") {
			if e = strings.TrimSpace(e); e != "" {
				evs = append(evs, e)
			}
		}
		if len(evs) > 0 {
			cfg.Events[name] = evs
		}
	}
	return cfg, nil
}

// inboundProviders builds the inbound sides of the configured providers (sandboxed ones too: a
// sandbox may call paylinks, as Mollie's calls a link's webhookUrl).
func (s *Server) inboundProviders() ([]inbound.Provider, error) {
	var out []inbound.Provider
	for _, kit := range s.cfg.Kits {
		p := s.providers[kit.Name]
		if kit.Inbound == nil || p == nil {
			continue
		}
		in, err := kit.Inbound(inbound.Deps{BaseURL: p.baseURL.String(), HTTP: p.http, Authorize: p.adapter.Authorize, Lister: s.client, Events: s.cfg.Inbound.Events[kit.Name]})
		if err != nil {
			return nil, fmt.Errorf("provider %s: %w", kit.Name, err)
		}
		out = append(out, in)
	}
	return out, nil
}

// openInbound makes the service that receives provider webhooks and registers paylinks at the
// providers; the events engine (already open) resolves what it keeps.
func (s *Server) openInbound() error {
	provs := s.inboundSides
	cfg := inbound.Config{Events: s.events, Providers: provs, Registrars: map[string]inbound.Registrar{}, EnvSecrets: s.cfg.Inbound.Secrets,
		PublicURL: s.cfg.PublicURL, AllowPrivate: s.cfg.Events.AllowPrivate, Logger: s.log}
	for _, kit := range s.cfg.Kits {
		if p, ok := s.providers[kit.Name]; ok { // not a provider disabled in a live deployment
			cfg.All = append(cfg.All, inbound.ProviderInfo{Name: kit.Name, Live: p.sim == nil})
		}
	}
	for _, p := range provs {
		if r, ok := p.(inbound.Registrar); ok {
			cfg.Registrars[p.Name()] = r
		}
	}
	in, err := inbound.New(cfg)
	if err != nil {
		return err
	}
	s.inbound = in
	for _, c := range in.Collectors() {
		if err := s.metrics.registry.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// receiveWebhook serves POST /webhooks/:provider[/:kind]: no API key, only the provider's
// signature. A refusal is a problem with its status; a call that could not be stored is a 500, so
// the provider retries it.
func (s *Server) receiveWebhook(c echo.Context) error {
	r := c.Request()
	rec, err := s.inbound.Receive(r.Context(), c.Param("provider"), c.Param("kind"), r.Header, r.Body)
	if err == nil {
		return c.JSON(http.StatusOK, map[string]string{"received": rec.Outcome})
	}
	var ref *inbound.Refusal
	if !errors.As(err, &ref) {
		s.log.ErrorContext(r.Context(), "provider webhook not stored; the provider will retry", "provider", c.Param("provider"), "error", err.Error())
		return writeInboundProblem(c, problem(http.StatusInternalServerError, api.ProblemCodeInternal, "Not stored", "The webhook could not be stored; retry later."))
	}
	s.log.InfoContext(r.Context(), "provider webhook refused", "provider", c.Param("provider"), "kind", c.Param("kind"), "status", ref.Status, "result", ref.Result, "reason", ref.Reason)
	code := map[int]api.ProblemCode{
		http.StatusBadRequest:            api.ProblemCodeBadRequest,
		http.StatusUnauthorized:          api.ProblemCodeUnauthorized,
		http.StatusNotFound:              api.ProblemCodeNotFound,
		http.StatusRequestEntityTooLarge: api.ProblemCodePayloadTooLarge,
		http.StatusUnprocessableEntity:   api.ProblemCodeValidationFailed,
	}[ref.Status]
	if code == "" {
		code = api.ProblemCodeBadRequest
	}
	return writeInboundProblem(c, problem(ref.Status, code, http.StatusText(ref.Status), ref.Reason))
}

func writeInboundProblem(c echo.Context, p api.Problem) error {
	p.Type = problemTypeBase + string(p.Code)
	if rid := c.Response().Header().Get(echo.HeaderXRequestID); rid != "" {
		p.RequestId = &rid
	}
	c.Response().Header().Set("Content-Type", "application/problem+json")
	c.Response().WriteHeader(p.Status)
	return json.NewEncoder(c.Response()).Encode(p)
}

// registerAtStart registers paylinks at the providers (PAYLINKS_PROVIDER_WEBHOOKS=register),
// trying again a few times while a provider fails, until ctx ends.
func (s *Server) registerAtStart(ctx context.Context) {
	for i, wait := range []time.Duration{0, time.Minute, 5 * time.Minute, 15 * time.Minute} {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		st, err := s.inbound.Register(ctx, nil)
		if err == nil {
			for _, x := range st {
				s.log.Info("provider webhooks", "provider", x.Provider, "registration", x.Registration, "subscriptions", len(x.Subs), "secrets", x.SecretSource)
			}
			return
		}
		s.log.Error("provider webhook registration failed at start", "try", i+1, "error", err.Error())
		if errors.Is(err, inbound.ErrPublicURL) {
			return // trying again changes nothing
		}
	}
	s.log.Error("provider webhooks not registered: fix the cause, then run paylinks webhooks register")
}
