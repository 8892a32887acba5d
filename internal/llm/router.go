package llm

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Router is a Model that sends each request to the model it names: the
// simulated model by its name, anything else to the upstream when one is
// configured. A request naming no model goes to the upstream if there is
// one, else to the simulated model.
type Router struct {
	simName  string
	sim      Model
	upstream Model // nil when no upstream is configured
	upName   string
}

// NewRouter routes between a simulated model called simName and an optional
// upstream whose default model is upName.
func NewRouter(simName string, sim, upstream Model, upName string) *Router {
	return &Router{simName: simName, sim: sim, upstream: upstream, upName: upName}
}

// Stream implements Model.
func (r *Router) Stream(ctx context.Context, req Request, emit func(string) error) (Result, error) {
	m, err := r.pick(req.Model)
	if err != nil {
		return Result{}, err
	}
	return m.Stream(ctx, req, emit)
}

// Resolve returns the model name a request will be answered by.
func (r *Router) Resolve(name string) (string, error) {
	if _, err := r.pick(name); err != nil {
		return "", err
	}
	switch {
	case name != "":
		return name, nil
	case r.upstream != nil:
		return r.upName, nil
	}
	return r.simName, nil
}

// Upstream reports whether a request naming name goes to the upstream
// (name may also be what Resolve returned).
func (r *Router) Upstream(name string) bool {
	m, err := r.pick(name)
	return err == nil && r.upstream != nil && m == r.upstream
}

func (r *Router) pick(name string) (Model, error) {
	switch {
	case name == r.simName:
		return r.sim, nil
	case r.upstream != nil:
		return r.upstream, nil
	case name == "":
		return r.sim, nil
	}
	return nil, &Error{Kind: KindNotFound, Message: fmt.Sprintf("model %q is not available; available: %s", name, r.simName)}
}

// Models lists the simulated model, the upstream's default model and, when
// the upstream can list them, the upstream's models.
func (r *Router) Models(ctx context.Context) ([]string, error) {
	names := []string{r.simName}
	if r.upstream == nil {
		return names, nil
	}
	if r.upName != "" {
		names = append(names, r.upName)
	}
	if l, ok := r.upstream.(Lister); ok {
		if more, err := l.Models(ctx); err == nil {
			names = append(names, more...)
		}
	}
	slices.SortFunc(names[1:], strings.Compare)
	return slices.Compact(names), nil
}
