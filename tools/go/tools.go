//go:build tools

// Package tools pins the Go programs the test suite builds and runs:
// promtool (Prometheus rule tests), actionlint (the CI workflow) and the
// Compose specification's loader (docker-compose.yml).
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/promtool"
	_ "github.com/rhysd/actionlint/cmd/actionlint"
)
