package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
)

func load(t *testing.T, yaml string) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "compose.yml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{path}, cli.WithName("t"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return check(p)
}

func TestAServiceWithoutAHealthCheckAndADependentThatDoesNotWaitAreRefused(t *testing.T) {
	got := load(t, `
services:
  db:
    image: postgres:17
  migrate:
    image: app
    restart: "no"
    depends_on: {db: {condition: service_started}}
  app:
    image: app
    healthcheck: {test: ["CMD", "true"]}
    depends_on:
      db: {condition: service_healthy}
      migrate: {condition: service_healthy}
`)
	want := []string{
		"service app: waits for migrate to be \"service_healthy\", not \"service_completed_successfully\"",
		"service db: no health check",
		"service migrate: waits for db to be \"service_started\", not \"service_healthy\"",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAFileThatKeepsItsPromisesPasses(t *testing.T) {
	got := load(t, `
services:
  db:
    image: postgres:17
    healthcheck: {test: ["CMD", "pg_isready"]}
  app:
    image: app
    healthcheck: {test: ["CMD", "true"]}
    depends_on: {db: {condition: service_healthy}}
`)
	if len(got) != 0 {
		t.Fatalf("unexpected problems: %v", got)
	}
}

func TestAServiceExcusedFromAHealthCheckMayHaveNoDependents(t *testing.T) {
	got := load(t, `
services:
  collector:
    image: distroless
    labels: {adpulse.no-healthcheck: "distroless: nothing to run a check with"}
  silent:
    image: distroless
    labels: {adpulse.no-healthcheck: " "}
  app:
    image: app
    healthcheck: {test: ["CMD", "true"]}
    depends_on: {collector: {condition: service_started}}
`)
	want := []string{
		"service app: depends on collector, which has no health check to wait on",
		"service silent: no health check",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
