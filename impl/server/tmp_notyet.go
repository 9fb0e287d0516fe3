package server

import "errors"

var errNotYet = errors.New("not yet")
