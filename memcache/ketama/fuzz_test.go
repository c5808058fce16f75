package ketama

import "testing"

// FuzzParseAddr checks that any address either fails with a *ConfigError or
// parses to a canonical form that parses to itself, so Remove and Report
// find a server however it was first written.
func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"10.0.0.1:11211", "cache", "[::1]:11212", "::1", "/run/mc.sock", "h:0", "[::1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseAddr(s)
		if err != nil {
			if _, ok := err.(*ConfigError); !ok {
				t.Fatalf("parseAddr(%q): %T %v, want a *ConfigError", s, err, err)
			}
			return
		}
		again, err := parseAddr(e.addr)
		if err != nil || again != e {
			t.Fatalf("parseAddr(%q) = %+v, but its canonical form parses to %+v, %v", s, e, again, err)
		}
	})
}

// FuzzPickServer checks that every key gets a server of the list, the same
// one every time.
func FuzzPickServer(f *testing.F) {
	s, err := New(Config{Servers: Servers("10.0.0.1:11211", "10.0.0.2:11212", "/run/mc.sock")})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("k")
	f.Add("")
	f.Fuzz(func(t *testing.T, key string) {
		a, err := s.PickServer(key)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := s.PickServer(key)
		if a != b || s.ring.Load().byAddr[a.String()] == nil {
			t.Fatalf("PickServer(%q) = %v then %v", key, a, b)
		}
	})
}
