// Package stdtypes is a golden input: the method set of a concrete client
// whose methods take and return other packages' types.
package stdtypes

import (
	"context"
	"net"
	"net/url"
	"time"
)

// Sample is one measurement.
type Sample struct {
	At    time.Time
	Value float64
	Tags  map[string]string
}

// Client is a concrete client: its method set is wrapped.
type Client struct {
	base *url.URL
}

// Between returns the samples in a window.
func (c *Client) Between(ctx context.Context, from, to time.Time, step time.Duration) ([]Sample, error) {
	return nil, nil
}

// Resolve returns the absolute form of u. url.URL's JSON drops its user
// information, so u is keyed by MarshalBinary and the result stays in process.
func (c *Client) Resolve(ctx context.Context, u *url.URL) (*url.URL, error) {
	return c.base.ResolveReference(u), nil
}

// ByURL takes a url.URL by value.
func (c *Client) ByURL(ctx context.Context, u url.URL) (Sample, error) { return Sample{}, nil }

// Query takes url.Values, a map of slices.
func (c *Client) Query(ctx context.Context, v url.Values) (Sample, error) { return Sample{}, nil }

// Host takes a net.IP, which marshals itself as text, and no context. A
// directive on a method declaration counts as on an interface method.
//
//cachewrap:ttl 2m
//cachewrap:max 64
func (c *Client) Host(ip net.IP) (string, error) { return ip.String(), nil }

// Base has a value receiver.
func (c Client) Base() *url.URL { return c.base }

// sample is unexported: the wrapper, in this package, wraps it too.
func (c *Client) sample(ctx context.Context, id int) (Sample, error) { return Sample{}, nil }
