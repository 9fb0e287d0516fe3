package cli

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	api "github.com/paylinks/paylinks/gen/paylinks"
	"github.com/paylinks/paylinks/impl/paylink"
)

// locale is how amounts are written for people: "€12.95", "F CFA 1,000".
const locale = "en"

// none stands for an absent value in a table.
const none = "-"

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// writeLinkTable writes links as an aligned table, one line each.
func writeLinkTable(w io.Writer, links []api.PaymentLink) {
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tPROVIDER\tSTATUS\tAMOUNT\tCREATED\tEXPIRES\tDESCRIPTION")
	for _, l := range links {
		desc := ""
		if l.Description != nil {
			desc = *l.Description
		}
		if desc == "" && l.Reference != nil {
			desc = "ref " + *l.Reference
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.Id, l.Provider, status(l), amount(l.Amount),
			timestamp(&l.CreatedAt), timestamp(l.ExpiresAt), truncate(orNone(desc), 40))
	}
	tw.Flush()
}

// writeLinkDetail writes every field a link has, one per line.
func writeLinkDetail(w io.Writer, l api.PaymentLink) {
	tw := newTable(w)
	for _, r := range linkRows(l) {
		fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
	}
	tw.Flush()
}

// linkRows are the fields of a link, as name and value, for a detail view.
func linkRows(l api.PaymentLink) [][2]string {
	var rows [][2]string
	row := func(name, value string) { rows = append(rows, [2]string{name, value}) }
	row("ID", l.Id)
	row("Provider", fmt.Sprintf("%s (its id: %s)", l.Provider, l.ProviderLinkId))
	row("Status", status(l)+statusNote(l))
	if l.Amount != nil {
		row("Amount", amount(l.Amount))
	}
	if l.Url != nil {
		row("URL", *l.Url)
	} else {
		row("URL", "none (no longer payable)")
	}
	if l.Description != nil {
		row("Description", *l.Description)
	}
	if l.Reference != nil {
		row("Reference", *l.Reference)
	}
	row("Reusable", yesNo(l.Reusable))
	if l.ExpiresAt != nil {
		row("Expires", timestamp(l.ExpiresAt))
	}
	row("Created", timestamp(&l.CreatedAt))
	if l.UpdatedAt != nil {
		row("Updated", timestamp(l.UpdatedAt))
	}
	if l.CompletedAt != nil {
		row("Completed", timestamp(l.CompletedAt))
	}
	if l.Metadata != nil && len(*l.Metadata) > 0 {
		for i, k := range slices.Sorted(maps.Keys(*l.Metadata)) {
			name := ""
			if i == 0 {
				name = "Metadata"
			}
			row(name, k+"="+(*l.Metadata)[k])
		}
	}
	return rows
}

// status is the unified status; for a status paylinks does not know, with the provider's.
func status(l api.PaymentLink) string {
	if l.Status == api.PaymentLinkStatusUnknown {
		return fmt.Sprintf("unknown (%s)", l.ProviderStatus)
	}
	return string(l.Status)
}

func statusNote(l api.PaymentLink) string {
	if l.Status == api.PaymentLinkStatusUnknown || l.ProviderStatus == "" || l.ProviderStatus == string(l.Status) {
		return ""
	}
	return fmt.Sprintf(" (at %s: %s)", l.Provider, l.ProviderStatus)
}

// amount writes an amount in the currency's own format; links without one (Telness) show "-".
func amount(a *api.Amount) string {
	if a == nil {
		return none
	}
	return paylink.Amount{Currency: a.Currency, Minor: a.Minor}.Format(locale)
}

// timestamp writes a time in RFC 3339 UTC.
func timestamp(t *time.Time) string {
	if t == nil || t.IsZero() {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orNone(s string) string {
	if s == "" {
		return none
	}
	return s
}

// truncate shortens s to n runes, marking the cut; tabs and newlines would break the table.
func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
