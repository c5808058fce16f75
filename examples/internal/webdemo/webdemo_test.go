package webdemo_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leancache/leancache/examples/internal/webdemo"
	"github.com/leancache/leancache/examples/internal/webdemo/webdemotest"
)

// TestRolesAreCopies: a handler that changes the roles it got does not
// change the directory.
func TestRolesAreCopies(t *testing.T) {
	roles, _ := webdemo.Roles("alice")
	roles[0] = "changed"
	roles, _ = webdemo.Roles("alice")
	assert.Equal(t, []string{"admin"}, roles)
	assert.Equal(t, []string{"reports.read"}, webdemo.Permissions([]string{"viewer", "viewer"}))
}

func TestParse(t *testing.T) {
	s, err := webdemo.Parse("x", []string{"-codec", "json", "-memcached", "127.0.0.1:1"}, io.Discard)
	require.NoError(t, err)
	defer s.Close()
	assert.Equal(t, "json", s.Codec.Name())
	assert.Equal(t, "127.0.0.1:1", s.BackendName)
	assert.NotNil(t, s.Backend)
	s, err = webdemo.Parse("x", nil, io.Discard)
	require.NoError(t, err)
	assert.Nil(t, s.Backend)
	assert.Equal(t, "gob", s.Codec.Name())
	_, err = webdemo.Parse("x", []string{"-codec", "nope"}, io.Discard)
	assert.ErrorContains(t, err, `unknown codec "nope"`)
}

// TestServeAndLog: the server answers, logs no header, and stops with its
// context.
func TestServeAndLog(t *testing.T) {
	logs := &webdemotest.LogBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	h := webdemo.LogRequests(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		webdemo.WriteJSON(w, map[string]int{"n": 1})
	}))
	run := func(ctx context.Context, args []string, out io.Writer) error {
		s, err := webdemo.Parse("x", args, out)
		if err != nil {
			return err
		}
		return webdemo.Serve(ctx, s, h, slog.New(slog.NewTextHandler(out, nil)))
	}
	addr, stop := webdemotest.Start(t, run, "-addr", "127.0.0.1:0")
	req, err := http.NewRequest("GET", "http://"+addr+"/p", nil)
	require.NoError(t, err)
	req.Header.Set("Cookie", "session=secret-token")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.JSONEq(t, `{"n":1}`, string(body))
	stop()
	assert.Contains(t, logs.String(), "path=/p status=200")
	assert.NotContains(t, logs.String(), "secret-token")

	rec := httptest.NewRecorder()
	webdemo.ServerError(log, rec, req, io.ErrUnexpectedEOF)
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.Contains(t, logs.String(), "unexpected EOF")
	assert.NotContains(t, logs.String(), "secret-token")
}
