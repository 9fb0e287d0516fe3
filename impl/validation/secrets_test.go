package validation

import (
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
)

// The operations whose answers a proxy must check for the secrets it keeps are exactly those of
// the providers' webhook subscriptions (MijnKlantportaal lists its records with their secrets;
// Hub2 answers a subscription with its secret): none of a payment link's, so their answers are
// passed on without a look at the secrets.
func TestAnswersMayHoldSecrets(t *testing.T) {
	t.Parallel()
	want := map[string][]string{
		"mijnklantportaal": {"CreateWebhookRecord", "GetWebhookRecord", "ListWebhookRecords"},
		"hub2":             {"CreateWebhook"},
		// paylinks' own spec (not passed through): its endpoints' secrets, and secretSource.
		"paylinks": {"CreateWebhookEndpoint", "GetWebhookEndpoint", "ListProviderWebhooks", "ListWebhookEndpoints", "RegisterProviderWebhooks", "RotateWebhookEndpointSecret", "UpdateWebhookEndpoint"},
	}
	for name, s := range routeSpecs(t) {
		var got []string
		for _, item := range s.doc.Paths.Map() {
			for _, op := range item.Operations() {
				if (&Operation{spec: s, route: &routers.Route{PathItem: item, Operation: op}}).AnswersMayHoldSecrets() {
					got = append(got, op.OperationID)
				}
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want[name]) {
			t.Errorf("%s: %v, want %v", name, got, want[name])
		}
	}
}

// A secret is found at any depth (arrays, maps, compositions) and in a schema that refers to
// itself, whatever the case of its name; a schema without one is walked to its end.
func TestSchemaNamesSecret(t *testing.T) {
	t.Parallel()
	obj := func(props map[string]*openapi3.SchemaRef) *openapi3.SchemaRef {
		return openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeObject}, Properties: props})
	}
	str := openapi3.NewStringSchema().NewRef()
	loop := obj(map[string]*openapi3.SchemaRef{"id": str})
	loop.Value.Properties["next"] = loop
	for _, tt := range []struct {
		name   string
		schema *openapi3.SchemaRef
		want   bool
	}{
		{"plain", obj(map[string]*openapi3.SchemaRef{"id": str, "secretary": nil}), true},
		{"none", obj(map[string]*openapi3.SchemaRef{"id": str, "url": str}), false},
		{"nested in an array", openapi3.NewSchemaRef("", &openapi3.Schema{Items: obj(map[string]*openapi3.SchemaRef{"data": openapi3.NewSchemaRef("", &openapi3.Schema{Items: obj(map[string]*openapi3.SchemaRef{"webhookSecret": str})})})}), true},
		{"in a map", openapi3.NewSchemaRef("", &openapi3.Schema{AdditionalProperties: openapi3.AdditionalProperties{Schema: obj(map[string]*openapi3.SchemaRef{"Client_SECRET": str})}}), true},
		{"in allOf", openapi3.NewSchemaRef("", &openapi3.Schema{AllOf: openapi3.SchemaRefs{loop, obj(map[string]*openapi3.SchemaRef{"secret": str})}}), true},
		{"in oneOf", openapi3.NewSchemaRef("", &openapi3.Schema{OneOf: openapi3.SchemaRefs{obj(map[string]*openapi3.SchemaRef{"secret": str})}}), true},
		{"a loop without one", loop, false},
	} {
		if got := schemaNamesSecret(tt.schema, map[*openapi3.Schema]bool{}); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
