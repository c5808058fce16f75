package main

import (
	"context"
	"strings"
	"sync/atomic"

	"github.com/leancache/leancache/cacheprop"
)

// Trip is what a Planner is asked. Its label is derived from the rest, for
// display: a cached property, which is no part of the question and so no
// part of the key of a cached call.
type Trip struct {
	From, To string
	Days     int
	label    cacheprop.Lazy[string]
}

// Label returns "From → To", computed once per Trip.
func (t *Trip) Label() string {
	return t.label.Get(func() string { return t.From + " → " + t.To })
}

// Plan is a Planner's answer. Its summary is derived data too: a Plan read
// back from memcached computes it afresh.
type Plan struct {
	Stops   []string
	Summary cacheprop.Lazy[string]
}

// Describe returns the stops joined, computed once per Plan.
func (p *Plan) Describe() string {
	return p.Summary.Get(func() string { return strings.Join(p.Stops, ", ") })
}

// Planner plans trips; its wrapper, in cached_planner.go, caches plans in
// process and in memcached.
type Planner interface {
	Plan(ctx context.Context, t *Trip) (*Plan, error)
}

// countingPlanner is a Planner that counts the trips it is asked to plan.
type countingPlanner struct{ calls atomic.Int32 }

// Plan implements Planner.
func (p *countingPlanner) Plan(_ context.Context, t *Trip) (*Plan, error) {
	p.calls.Add(1)
	return &Plan{Stops: []string{t.From, t.To}}, nil
}
