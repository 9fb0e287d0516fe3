package apidocs

import (
	"bytes"
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// View is how one deployment serves a document: where its operations are reached and, for a
// document served through a proxy, the proxy's own authentication instead of the original one.
type View struct {
	// ServerURL replaces the document's servers (a client generated from the served document, and
	// "Try it out", call this deployment).
	ServerURL, ServerDescription string
	// Bearer, when not empty, replaces the document's security with one HTTP bearer scheme named
	// bearerAuth and described by Bearer, and drops the other schemes: a proxy that adds the
	// upstream credentials itself takes its own key, never the upstream's.
	Bearer string
}

// Apply returns spec (OpenAPI YAML) rewritten for the view. Everything else, comments included,
// is kept as written.
func (v View) Apply(spec []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(spec, &doc); err != nil {
		return nil, fmt.Errorf("parse the document: %w", err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the document is not a YAML mapping")
	}
	root := doc.Content[0]
	if err := set(root, "servers", []server{{v.ServerURL, v.ServerDescription}}); err != nil {
		return nil, err
	}
	if v.Bearer != "" {
		if err := set(root, "security", []map[string][]string{{"bearerAuth": {}}}); err != nil {
			return nil, err
		}
		components := get(root, "components")
		if components == nil {
			if err := set(root, "components", map[string]any{}); err != nil {
				return nil, err
			}
			components = get(root, "components")
		}
		schemes := map[string]scheme{"bearerAuth": {"http", "bearer", v.Bearer}}
		if err := set(components, "securitySchemes", schemes); err != nil {
			return nil, err
		}
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// server and scheme are written as structs so their keys come out in the usual order.
type server struct {
	URL         string `yaml:"url"`
	Description string `yaml:"description,omitempty"`
}

type scheme struct {
	Type        string `yaml:"type"`
	Scheme      string `yaml:"scheme"`
	Description string `yaml:"description"`
}

// get returns the value of key in the mapping m, or nil.
func get(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// set replaces the value of key in the mapping m (keeping the key's place and comments), or adds it.
func set(m *yaml.Node, key string, value any) error {
	if m.Kind != yaml.MappingNode {
		return fmt.Errorf("%s: its parent is not a mapping", key)
	}
	var n yaml.Node
	if err := n.Encode(value); err != nil {
		return err
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			n.HeadComment, n.LineComment, n.FootComment = m.Content[i+1].HeadComment, m.Content[i+1].LineComment, m.Content[i+1].FootComment
			m.Content[i+1] = &n
			return nil
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, &n)
	return nil
}
