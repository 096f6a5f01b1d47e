//go:build tools

// Package tools pins promtool, which the test suite builds to check and
// unit-test the Prometheus rules (deploy/prometheus). One module per tool:
// their dependencies disagree.
package tools

import _ "github.com/prometheus/prometheus/cmd/promtool"
