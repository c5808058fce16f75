// Package golangci registers cachepropvet as a golangci-lint module plugin.
// It is a module of its own so that leancache's core module does not
// depend on golangci's plugin registration; see package
// github.com/leancache/leancache/cacheprop/cachepropvet for the
// .custom-gcl.yml and .golangci.yml that use it.
package golangci

import (
	"fmt"
	"strconv"

	"github.com/golangci/plugin-module-register/register"
	"golang.org/x/tools/go/analysis"

	"github.com/leancache/leancache/cacheprop/cachepropvet"
)

func init() { register.Plugin("cachepropvet", New) }

// Settings are the linter's settings in .golangci.yml.
type Settings struct {
	// Suggestions, when set, turns the redundant-tag suggestions on or
	// off (the analyzer's -suggestions flag; on by default).
	Suggestions *bool `json:"suggestions"`
}

type plugin struct{ settings Settings }

// New is the plugin's constructor, which golangci-lint calls with the
// settings of .golangci.yml.
func New(settings any) (register.LinterPlugin, error) {
	s, err := register.DecodeSettings[Settings](settings)
	if err != nil {
		return nil, fmt.Errorf("cachepropvet: golangci settings: %w", err)
	}
	return &plugin{settings: s}, nil
}

// BuildAnalyzers returns the analyzer, configured by the settings.
func (p *plugin) BuildAnalyzers() ([]*analysis.Analyzer, error) {
	if p.settings.Suggestions != nil {
		if err := cachepropvet.Analyzer.Flags.Set("suggestions", strconv.FormatBool(*p.settings.Suggestions)); err != nil {
			return nil, fmt.Errorf("cachepropvet: %w", err)
		}
	}
	return []*analysis.Analyzer{cachepropvet.Analyzer}, nil
}

// GetLoadMode asks for type information: the analyzer reads types and
// imports facts.
func (p *plugin) GetLoadMode() string { return register.LoadModeTypesInfo }
