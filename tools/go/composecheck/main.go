// composecheck loads a Compose file with the Compose specification's own
// loader (compose-go, the library Docker Compose uses): interpolation,
// schema validation, normalization and the checks `docker compose config`
// makes. It then requires what adpulse's file promises: every
// long-running service has a health check, and every dependency on one
// waits for it to be healthy (jobs, restart "no", for completion). An image
// with no way to run a check inside it (a distroless one) may carry the
// label adpulse.no-healthcheck with the reason, as long as nothing
// depends on it.
//
//	composecheck docker-compose.yml
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: composecheck FILE")
		os.Exit(2)
	}
	path, err := filepath.Abs(os.Args[1])
	if err != nil {
		fail(err)
	}
	opts, err := cli.NewProjectOptions([]string{path},
		cli.WithWorkingDirectory(filepath.Dir(path)),
		cli.WithName("adpulse"),
		cli.WithOsEnv,
	)
	if err != nil {
		fail(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	problems := check(project)
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
	fmt.Printf("%s: valid (compose-go); %d services, each long-running one with a health check its dependents wait on\n",
		os.Args[1], len(project.Services))
}

// noCheck is the label that excuses a service from a health check, giving
// the reason.
const noCheck = "adpulse.no-healthcheck"

func check(p *types.Project) []string {
	var out []string
	names := make([]string, 0, len(p.Services))
	for name := range p.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := p.Services[name]
		job := s.Restart == "no"
		exempt := strings.TrimSpace(s.Labels[noCheck]) != ""
		if !job && !exempt && (s.HealthCheck == nil || s.HealthCheck.Disable) {
			out = append(out, fmt.Sprintf("service %s: no health check", name))
		}
		for dep, d := range s.DependsOn {
			target, ok := p.Services[dep]
			if !ok {
				out = append(out, fmt.Sprintf("service %s: depends on unknown %s", name, dep))
				continue
			}
			if strings.TrimSpace(target.Labels[noCheck]) != "" {
				out = append(out, fmt.Sprintf("service %s: depends on %s, which has no health check to wait on", name, dep))
				continue
			}
			want := types.ServiceConditionHealthy
			if target.Restart == "no" {
				want = types.ServiceConditionCompletedSuccessfully
			}
			if d.Condition != want {
				out = append(out, fmt.Sprintf("service %s: waits for %s to be %q, not %q", name, dep, d.Condition, want))
			}
		}
	}
	return out
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
