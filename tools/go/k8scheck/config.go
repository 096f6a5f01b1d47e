package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// configKeys lists every environment variable adpulse's configuration
// reads (ADPULSE__SECTION__KEY), from the Rust source of crates/config
// itself: the sections are the fields of `struct Config`, the keys the
// fields of each section's struct. adpulse refuses unknown keys at startup
// (serde deny_unknown_fields), so a ConfigMap key outside this set would
// stop every pod; reading the source keeps this list from drifting.
func configKeys(root string) (map[string]bool, error) {
	dir := filepath.Join(root, "crates", "config", "src")
	files, err := filepath.Glob(filepath.Join(dir, "*.rs"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no Rust source in %s", dir)
	}
	structs := map[string][]string{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for name, fields := range rustStructs(string(src)) {
			structs[name] = fields
		}
	}
	top, ok := structs["Config"]
	if !ok {
		return nil, fmt.Errorf("%s: no `pub struct Config`", dir)
	}
	sections := regexp.MustCompile(`^(\w+): (\w+)$`)
	keys := map[string]bool{}
	for _, field := range top {
		m := sections.FindStringSubmatch(field)
		if m == nil {
			return nil, fmt.Errorf("Config field %q is not `section: Type`", field)
		}
		section, typ := m[1], m[2]
		fields, ok := structs[typ]
		if !ok {
			return nil, fmt.Errorf("section %s: no `pub struct %s` in %s", section, typ, dir)
		}
		for _, f := range fields {
			key := strings.SplitN(f, ":", 2)[0]
			keys[envName(section, key)] = true
		}
	}
	// A parser that found nothing would make every key look unknown, or
	// (worse, if callers skipped on empty) none: a floor catches both.
	if len(keys) < 50 {
		return nil, fmt.Errorf("only %d configuration keys found in %s", len(keys), dir)
	}
	return keys, nil
}

func envName(section, key string) string {
	return "ADPULSE__" + strings.ToUpper(section) + "__" + strings.ToUpper(key)
}

// rustStructs maps each `pub struct Name {` in src to its public fields,
// each as `name: Type` (one per line, as rustfmt writes them).
func rustStructs(src string) map[string][]string {
	out := map[string][]string{}
	head := regexp.MustCompile(`^pub struct (\w+) \{$`)
	field := regexp.MustCompile(`^\s+pub (\w+: [^,]+),$`)
	var current string
	for _, line := range strings.Split(src, "\n") {
		if m := head.FindStringSubmatch(line); m != nil {
			current = m[1]
			out[current] = nil
			continue
		}
		if current == "" {
			continue
		}
		if line == "}" {
			current = ""
			continue
		}
		if m := field.FindStringSubmatch(line); m != nil {
			out[current] = append(out[current], m[1])
		}
	}
	return out
}
