package validation

import (
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"
)

// answers are the documented answers of one operation by status, as kin-openapi's
// Responses.Status and Default find them (exact code, then its range "2XX", then "default"),
// read once from the spec: a proxied request asks for its answer's three or four times, and
// Responses.Status formats the status and builds the range's name each time.
type answers struct {
	exact  map[int]*openapi3.ResponseRef
	ranges [6]*openapi3.ResponseRef // by the status's first digit, 1XX to 5XX
	def    *openapi3.ResponseRef
}

func compileAnswers(rs *openapi3.Responses) *answers {
	a := &answers{exact: map[int]*openapi3.ResponseRef{}}
	if rs == nil {
		return a
	}
	for key, ref := range rs.Map() {
		switch {
		case key == "default":
			a.def = ref
		case len(key) == 3 && key[0] >= '1' && key[0] <= '5' && key[1:] == "XX":
			a.ranges[key[0]-'0'] = ref
		default:
			// Only the form Responses.Status looks up ("200", not "0200" or "+200").
			if n, err := strconv.Atoi(key); err == nil && strconv.Itoa(n) == key {
				a.exact[n] = ref
			}
		}
	}
	return a
}

// status is Responses.Status.
func (a *answers) status(status int) *openapi3.ResponseRef {
	if ref := a.exact[status]; ref != nil {
		return ref
	}
	if 99 < status && status < 600 {
		return a.ranges[status/100]
	}
	return nil
}
