package server

import (
	"html/template"
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	api "github.com/paylinks/paylinks/gen/paylinks"
)

type docOperation struct {
	Method, Path, ID, Summary, Description string
	Params                                 []docParam
	Body                                   string
	Responses                              []docResponse
}

type docParam struct{ Name, In, Type, Description string }

type docResponse struct{ Status, Description string }

// docs renders the unified API's reference from its spec: self-contained HTML, nothing loaded
// from elsewhere, so it works on a machine without internet access.
func (s *Server) docs(c echo.Context) error {
	doc, err := api.GetSwagger()
	if err != nil {
		return err
	}
	var ops []docOperation
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			d := docOperation{Method: method, Path: path, ID: op.OperationID, Summary: op.Summary, Description: op.Description}
			for _, pr := range op.Parameters {
				p := pr.Value
				d.Params = append(d.Params, docParam{p.Name, p.In, schemaName(p.Schema), p.Description})
			}
			if op.RequestBody != nil {
				if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil {
					d.Body = schemaName(mt.Schema)
				}
			}
			for code, r := range op.Responses.Map() {
				desc := ""
				if r.Value != nil && r.Value.Description != nil {
					desc = *r.Value.Description
				}
				d.Responses = append(d.Responses, docResponse{code, desc})
			}
			sort.Slice(d.Responses, func(i, j int) bool { return d.Responses[i].Status < d.Responses[j].Status })
			ops = append(ops, d)
		}
	}
	sort.SliceStable(ops, func(i, j int) bool {
		if ops[i].Path != ops[j].Path {
			return ops[i].Path < ops[j].Path
		}
		return ops[i].Method < ops[j].Method
	})
	c.Response().Header().Set("Content-Type", "text/html; charset=utf-8")
	c.Response().WriteHeader(http.StatusOK)
	return docsPage.Execute(c.Response(), struct {
		Title, Version, Description string
		Ops                         []docOperation
		Sandbox                     bool
		DemoKey                     string
	}{doc.Info.Title, doc.Info.Version, doc.Info.Description, ops, s.SandboxMode, DemoAPIKey})
}

func schemaName(ref *openapi3.SchemaRef) string {
	if ref == nil {
		return ""
	}
	if ref.Ref != "" {
		return ref.Ref[strings.LastIndex(ref.Ref, "/")+1:]
	}
	if ref.Value != nil && ref.Value.Type != nil {
		return strings.Join(ref.Value.Type.Slice(), "|")
	}
	return ""
}

var docsPage = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}
code,pre{background:#f4f4f4;padding:.1rem .3rem;border-radius:3px}.op{border:1px solid #ddd;border-radius:6px;padding:1rem;margin:1rem 0}
.m{font-weight:bold;text-transform:uppercase;margin-right:.5rem}table{border-collapse:collapse}td,th{border-bottom:1px solid #eee;padding:.2rem .6rem;text-align:left;vertical-align:top}</style></head>
<body><h1>{{.Title}} <small>v{{.Version}}</small></h1>
<p>Machine-readable: <a href="/openapi.yaml">/openapi.yaml</a>. Authenticate with <code>Authorization: Bearer &lt;key&gt;</code>.
{{if .Sandbox}}This server runs in sandbox mode: use the demo key <code>{{.DemoKey}}</code>.{{end}}</p>
<pre>{{.Description}}</pre>
{{range .Ops}}<div class="op" id="{{.ID}}"><h2><span class="m">{{.Method}}</span><code>{{.Path}}</code></h2>
<p><strong>{{.Summary}}</strong> <small>({{.ID}})</small></p>{{if .Description}}<pre>{{.Description}}</pre>{{end}}
{{if .Params}}<table><tr><th>parameter</th><th>in</th><th>type</th><th></th></tr>{{range .Params}}<tr><td><code>{{.Name}}</code></td><td>{{.In}}</td><td>{{.Type}}</td><td>{{.Description}}</td></tr>{{end}}</table>{{end}}
{{if .Body}}<p>Body: <code>{{.Body}}</code> (application/json)</p>{{end}}
<table><tr><th>status</th><th></th></tr>{{range .Responses}}<tr><td>{{.Status}}</td><td>{{.Description}}</td></tr>{{end}}</table></div>{{end}}
</body></html>
`))
