//go:build tools

// Package tools pins actionlint, which the test suite builds to check the
// CI workflow (.github/workflows).
package tools

import _ "github.com/rhysd/actionlint/cmd/actionlint"
