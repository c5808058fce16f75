package golangci

import (
	"testing"

	"github.com/golangci/plugin-module-register/register"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/cacheprop/cachepropvet"
)

// TestPlugin builds the analyzers as golangci-lint does, from decoded
// .golangci.yml settings.
func TestPlugin(t *testing.T) {
	newPlugin, err := register.GetPlugin("cachepropvet")
	require.NoError(t, err, "registered under the name .golangci.yml uses")

	p, err := newPlugin(map[string]any{"suggestions": false})
	require.NoError(t, err)
	as, err := p.BuildAnalyzers()
	require.NoError(t, err)
	require.Len(t, as, 1)
	assert.Same(t, cachepropvet.Analyzer, as[0])
	assert.Equal(t, "false", cachepropvet.Analyzer.Flags.Lookup("suggestions").Value.String())
	assert.Equal(t, register.LoadModeTypesInfo, p.GetLoadMode())

	p, err = newPlugin(map[string]any{"suggestions": true})
	require.NoError(t, err)
	_, err = p.BuildAnalyzers()
	require.NoError(t, err)
	assert.Equal(t, "true", cachepropvet.Analyzer.Flags.Lookup("suggestions").Value.String())

	_, err = newPlugin(map[string]any{"suggestions": "often"})
	assert.ErrorContains(t, err, "cachepropvet: golangci settings")
}
