package validation

import (
	"net/url"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
)

// segmentNode is a node of the fast route table: the spec's path templates of one method split
// at '/', a literal or a whole-segment parameter per level.
type segmentNode struct {
	literals map[string]*segmentNode
	param    *segmentNode
	route    *routers.Route // the operation whose template ends here
	names    []string       // its parameters' names, in order
}

// fastRoutes is kin-openapi's legacy router (what Find asks) restated for the paths most requests
// have: it answers for a plain path (no escapes, no empty segment), and finds the operation the
// legacy router would find, trying at each segment the literal before the parameter, as its
// pattern tree does, and letting a parameter match nothing once the path is used up. A path it
// does not answer for, or whose match has an empty parameter, goes to the router. nil when a
// template of the spec has what the table does not model (a parameter in part of a segment, a
// wildcard, two templates the same but for their parameters' names): the router then finds all.
// FuzzFastRoutesAreTheRouters holds the two equal.
type fastRoutes map[string]*segmentNode

func compileRoutes(doc *openapi3.T) fastRoutes {
	table := fastRoutes{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			root := table[method]
			if root == nil {
				root = &segmentNode{}
				table[method] = root
			}
			n, names := root, []string(nil)
			if path != "/" {
				if !strings.HasPrefix(path, "/") || strings.HasSuffix(path, "/") {
					return nil
				}
				for _, seg := range strings.Split(path[1:], "/") {
					if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") && strings.Count(seg, "{") == 1 && strings.Count(seg, "}") == 1 {
						name := strings.TrimSpace(seg[1 : len(seg)-1])
						if strings.HasSuffix(name, "*") {
							return nil
						}
						names = append(names, name)
						if n.param == nil {
							n.param = &segmentNode{}
						}
						n = n.param
						continue
					}
					if seg == "" || strings.ContainsAny(seg, "{}") {
						return nil
					}
					if n.literals == nil {
						n.literals = map[string]*segmentNode{}
					}
					next := n.literals[seg]
					if next == nil {
						next = &segmentNode{}
						n.literals[seg] = next
					}
					n = next
				}
			}
			if n.route != nil {
				return nil
			}
			n.route = &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}
			n.names = names
		}
	}
	return table
}

// find returns the route and parameters for a request's method and URL, or ok false when the
// router is to be asked.
func (t fastRoutes) find(method string, u *url.URL) (route *routers.Route, params map[string]string, ok bool) {
	root := t[method]
	p := u.Path
	if root == nil || u.RawPath != "" || u.Opaque != "" || u.Fragment != "" || u.User != nil || len(p) < 2 || p[0] != '/' || !escapedAsItIs(p) {
		return nil, nil, false
	}
	var values [8]string
	n, vals := root.walk(p[1:], false, values[:0])
	if n == nil {
		return nil, nil, false
	}
	params = make(map[string]string, len(vals))
	for i, v := range vals {
		params[n.names[i]] = v
	}
	if emptyParam(params) {
		return nil, nil, false // the router would match it too, and Find refuses it
	}
	return n.route, params, true
}

// walk matches the rest of the path (without its leading '/') from n; done tells a path used up.
func (n *segmentNode) walk(rest string, done bool, vals []string) (*segmentNode, []string) {
	if done {
		if n.route != nil {
			return n, vals
		}
		// The router's pattern tree lets a parameter match nothing at the end of the path.
		if n.param != nil {
			return n.param.walk("", true, append(vals, ""))
		}
		return nil, nil
	}
	seg, after, more := strings.Cut(rest, "/")
	if seg == "" {
		return nil, nil // an empty segment: left to the router
	}
	if next := n.literals[seg]; next != nil {
		if found, v := next.walk(after, !more, vals); found != nil {
			return found, v
		}
	}
	if n.param != nil {
		return n.param.walk(after, !more, append(vals, seg))
	}
	return nil, nil
}

// escapedAsItIs reports a path that URL escaping leaves as it is (url.URL.EscapedPath is the
// path). Unlike the passthrough's plainPath it says nothing of the segments' values.
func escapedAsItIs(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-_.~$&+,/:;=@", c) >= 0:
		default:
			return false
		}
	}
	return true
}
